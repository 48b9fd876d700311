"""The live table in a real terminal: tmux runs `secfeed tail`, capture-pane reads the screen."""

from __future__ import annotations

import json
import os
import select
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from secfeed_cli.emulator.feed import load_sample
from secfeed_cli.emulator.server import Emulator

from .conftest import ROOT

Factory = Callable[..., Emulator]

if not shutil.which("tmux"):
    if os.environ.get("SECFEED_REQUIRE_TMUX"):
        raise RuntimeError("tmux is required (SECFEED_REQUIRE_TMUX is set) but not installed")
    pytest.skip("tmux is not installed", allow_module_level=True)

EVIL = "EVIL \x1b[31mRED\x1b[0m \x1b[2J\x07 CORP"


class Pane:
    """One tmux server (own socket) with one window running a command."""

    def __init__(self, tmp: Path, command: str, width: int = 160, height: int = 30) -> None:
        self.socket = f"secfeed-test-{os.getpid()}-{id(self)}"
        self.done = tmp / f"exit-code-{id(self)}"
        self.channel = f"done-{id(self)}"
        # The pane stays open after the command (so its screen can be read) until killed;
        # `tmux wait-for -S` signals the exit, which exit_code() awaits.
        wrapped = (
            f"{command}; echo $? > {shlex.quote(str(self.done))}; "
            f"tmux -L {self.socket} wait-for -S {self.channel}; sleep 600"
        )
        # The terminal decides the size: COLUMNS/LINES (set by some test runners) would
        # override it for rich.
        drop = ("NO_COLOR", "TMUX", "COLUMNS", "LINES")
        env = {k: v for k, v in os.environ.items() if k not in drop}
        env["TERM"] = "xterm-256color"
        self._tmux("new-session", "-d", "-x", str(width), "-y", str(height), wrapped, env=env)
        # Everything the pane prints from now on also goes down a FIFO: its arrival is the
        # event wait_for() awaits. Opened read-write, so it never reads as closed.
        fifo = tmp / f"output-{id(self)}"
        os.mkfifo(fifo)
        self._output = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
        self._tmux("pipe-pane", f"cat > {shlex.quote(str(fifo))}")

    def _tmux(self, *args: str, env: dict[str, str] | None = None) -> str:
        res = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, timeout=10, env=env, check=True
        )
        return res.stdout.decode()

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p")

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 20) -> str:
        """Read the screen until ``predicate`` holds, bounded by ``timeout``.

        The screen is read first (it shows any output from before the FIFO was attached, and
        the result of anything the test just did, such as a resize), then again each time
        the pane prints something (the FIFO becomes readable): nothing else changes it.
        """
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if predicate(screen):
                return screen
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._output], [], [], left)[0]:
                raise AssertionError(f"screen never matched; last screen:\n{screen}")
            while True:  # take everything printed so far, then look again
                try:
                    if not os.read(self._output, 1 << 16):
                        break
                except BlockingIOError:
                    break

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", *keys)

    def resize(self, width: int, height: int) -> None:
        self._tmux("resize-window", "-x", str(width), "-y", str(height))

    def exit_code(self, timeout: float = 20) -> int:
        """Await the command's exit (signalled through a tmux wait-for channel)."""
        subprocess.run(
            ["tmux", "-L", self.socket, "wait-for", self.channel], timeout=timeout, check=True
        )
        return int(self.done.read_text())

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)
        os.close(self._output)


@pytest.fixture
def pane_factory(tmp_path: Path) -> Iterator[Callable[..., Pane]]:
    panes: list[Pane] = []

    def make(args: str, **kw: int) -> Pane:
        err = tmp_path / f"stderr-{len(panes)}"
        cmd = f"{shlex.quote(sys.executable)} -m secfeed_cli {args} 2>{err}"
        pane = Pane(tmp_path, f"cd {shlex.quote(str(ROOT))} && {cmd}", **kw)
        panes.append(pane)
        return pane

    yield make
    for pane in panes:
        pane.kill()


@pytest.fixture
def evil_emulator(emulator_factory: Factory, tmp_path: Path) -> Emulator:
    """Real sample filings, one live filing of which has terminal escapes in its description."""
    sample = load_sample()[:60]
    sample[45] = {**sample[45], "description": EVIL}
    path = tmp_path / "sample.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in sample))
    # Live filings only when the test publishes them: none can go by before a client is there.
    return emulator_factory(backlog=40, rate=0, sample_path=str(path))


def test_live_table_rows_marker_status_and_escaping(
    evil_emulator: Emulator, pane_factory: Callable[..., Pane], tmp_path: Path
) -> None:
    em = evil_emulator
    pane = pane_factory(f"tail --url {em.url} --latency -n 12 --no-backlog --form '*'")
    # A second run that shows the backlog too (the marker) and stays up for the resize.
    pane2 = pane_factory(f"tail --url {em.url}")
    em.wait_for("hello", conn=1)
    em.wait_for("hello", conn=2)
    em.publish(12)  # both are subscribed: the sixth of these is the hostile one
    pane.wait_for(lambda s: "EVIL" in s)
    # Everything asserted below is waited for (a screen read mid-repaint can lack a part).
    screen = pane2.wait_for(
        lambda s: "backlog above" in s and "EVIL" in s and "live latency" in s and "form" in s
    )
    lines = screen.splitlines()
    marker = next(i for i, line in enumerate(lines) if "backlog above" in line)
    assert marker > 2, "backlog rows above the marker"
    status = next(line for line in lines if "live latency" in line)
    assert "connected 127.0.0.1" in status and "shown" in status and "malformed" in status
    assert "backlog complete" in status and "heartbeat" in status
    accession_rows = [line for line in lines if "-26-" in line]
    assert len(accession_rows) >= 20
    assert "form" in lines[0] and "description" in lines[0]

    # The first pane ran to its count with the hostile description shown escaped.
    assert pane.exit_code() == 0
    shown = pane.screen()
    evil_line = next(line for line in shown.splitlines() if "EVIL" in line)
    assert "\\x1b[31mRED\\x1b[0m" in evil_line and "\\x1b[2J\\x07" in evil_line
    assert "latency" in shown.splitlines()[0]

    # Resizing keeps the newest rows and the status line on screen. Right after the resize
    # tmux shows the old screen reflowed; the test waits for rich's repaint at the new width,
    # which cuts the status line with an ellipsis (a reflowed line never ends in one).
    pane2.resize(90, 15)

    def repainted(screen: str) -> bool:
        lines = screen.splitlines()
        return len(lines) <= 15 and any(
            "connected 127.0.0.1" in line and line.rstrip().endswith("…") for line in lines
        )

    small = pane2.wait_for(repainted)
    assert all(len(line) <= 90 for line in small.splitlines())
    assert "-26-" in small  # rows still shown
    pane2.keys("C-c")
    assert pane2.exit_code() == 130
