"""Every command of the README's first ten minutes, typed into a real bash in a real terminal
(tmux), in order, in one shell, as a newcomer would: FinFeedAPI and EDGAR are the emulator
(``~/.config/secfeed/config.toml`` points there, as a user's config would point at the real
ones), NATS is a real nats-server, HOME is a fresh folder.

What each line must do is what its comment says: "Ctrl-C ends it" (it runs until then: once
it has shown a filing, Ctrl-C, exit 130), "q quits" (the same, with q, exit 0), "exit N", or
else it ends by itself with exit 0. A line ending in ``&`` starts in the background. The
``cron`` block's line runs as cron would run it: ``sh -c``, a bare PATH, HOME only.

The one change made to what is typed: NATS's port, 4222 in the README, is a free one here.
"""

from __future__ import annotations

import re
import shlex
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from secfeed_cli.emulator.server import Emulator

from .conftest import ROOT
from .patience import WAIT
from .test_table_tmux import Pane

README = (ROOT / "README.md").read_text()
ACCESSION = re.compile(r"\d{10}-\d\d-\d{6}")


def readme_lines() -> list[tuple[str, str]]:
    """("sh" or "cron", line) for every command of the README's ``sh`` and ``cron`` blocks,
    in order, but the set-up ones (they build this very environment)."""
    found: list[tuple[str, str]] = []
    for kind, block in re.findall(r"```(sh|cron)\n(.*?)```", README, re.S):
        for line in block.splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                found.append((kind, line.strip()))
    return [(k, line) for k, line in found if "scripts/dev.py" not in line]


def expected(line: str) -> tuple[str, int]:
    """What a line must do: ("ends" | "interrupt" | "quit" | "background", its exit)."""
    comment = line.split("  #", 1)[1] if "  #" in line else ""
    command = line.split("  #", 1)[0].rstrip()
    if command.endswith("&"):
        return "background", 0
    if "Ctrl-C ends it" in comment:
        return "interrupt", 130
    if "q quits" in comment:
        return "quit", 0
    code = re.search(r"\bexit (\d+)", comment)
    return "ends", int(code.group(1)) if code else 0


@pytest.fixture
def shell(
    emulator_factory: Callable[..., Emulator], tmp_path: Path
) -> Iterator[tuple[Pane, Path, Path]]:
    import os
    import shutil

    if shutil.which("jq") is None:  # the README pipes into it (.ci/run installs it)
        if os.environ.get("SECFEED_REQUIRE_TMUX"):
            raise RuntimeError("jq is required with SECFEED_REQUIRE_TMUX, and not installed")
        pytest.skip("jq is not installed")
    # A backlog of 150: the emulator's live filings move it on while the lines run, and a
    # filing of a fund (what the archive search looks for) is never more than 145 away in
    # its sample.
    em = emulator_factory(backlog=150, rate=5, edgar=True)
    home = tmp_path / "home"
    (home / ".config" / "secfeed").mkdir(parents=True)
    (home / ".config" / "secfeed" / "config.toml").write_text(
        f'url = "{em.url}"\nedgar-url = "{em.url.replace("ws://", "http://")}"\n'
        "edgar-rate = 10\n"  # the emulator's EDGAR is this machine's: SEC's upper bound
    )
    bin_dir = tmp_path / "bin"  # `secfeed` as an install puts it on PATH
    bin_dir.mkdir()
    (bin_dir / "secfeed").write_text(f'#!/bin/sh\nexec {sys.executable} -m secfeed_cli "$@"\n')
    (bin_dir / "secfeed").chmod(0o755)
    status = tmp_path / "status"
    path = f"{bin_dir}:{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin"
    env = {
        "HOME": str(home),
        "PATH": path,
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "PS1": "$ ",
        "PROMPT_COMMAND": f"echo $? >> {status}",
    }
    command = "env -i " + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    # In HOME, as a newcomer's shell starts: what the lines write stays in the test's folder.
    shell = f"cd {shlex.quote(str(home))} && {command} bash --noprofile --norc -i"
    pane = Pane(tmp_path, shell, width=160, height=50)
    try:
        pane.wait_for(lambda s: _statuses(status) >= 1)
        yield pane, status, home
    finally:
        pane.kill()


def _statuses(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def _prompts(path: Path, n: int) -> Callable[[str], bool]:
    """Whether bash has shown its nth prompt: the line before it has ended, with its status."""
    return lambda screen: _statuses(path) >= n


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _await_port(port: int) -> None:
    """A server started in the background listens (a person waits for it too)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)  # polling the condition itself: nothing signals a listening port
    raise AssertionError(f"nothing listens on port {port}")


def test_the_readme_has_a_first_ten_minutes_to_run() -> None:
    lines = [line for _, line in readme_lines()]
    for needle in ("secfeed demo", "| jq", "--details", "--archive", "secfeed ui", "--from nats"):
        assert any(needle in line for line in lines), needle
    assert [k for k, _ in readme_lines()].count("cron") == 1


def test_every_command_of_the_first_ten_minutes_runs_as_its_comment_says(
    shell: tuple[Pane, Path, Path],
) -> None:
    pane, status, home = shell
    nats_port = _free_port()
    for kind, line in readme_lines():
        typed = line.replace("127.0.0.1:4222", f"127.0.0.1:{nats_port}")
        if "nats-server" in typed:
            typed = typed.replace("-a 127.0.0.1", f"-a 127.0.0.1 -p {nats_port}", 1)
        if kind == "cron":
            command = typed.split(None, 5)[5]  # after the five time fields
            typed = (
                f"env -i HOME={shlex.quote(str(home))} PATH=/usr/bin:/bin SHELL=/bin/sh"
                f" /bin/sh -c {shlex.quote(command)}"
            )
        what, code = expected(line)
        before = _statuses(status)
        pane.keys("clear", "Enter")
        pane.wait_for(_prompts(status, before + 1))
        pane.keys("-l", typed)
        pane.keys("Enter")
        if what in ("interrupt", "quit"):
            pane.wait_for(lambda s: bool(ACCESSION.search(s)))
            pane.keys("C-c" if what == "interrupt" else "q")
        screen = pane.wait_for(_prompts(status, before + 2))
        got = int(status.read_text().splitlines()[-1])
        assert got == code, f"{line!r} exited {got}, not {code}:\n{screen}"
        assert "Traceback" not in screen and "internal error" not in screen, (line, screen)
        if "nats-server" in typed:
            _await_port(nats_port)
        for needle, check in SHOWS.items():
            if needle in line:
                assert check(screen), f"{line!r} showed:\n{screen}"
    assert (home / "sec" / "new.ndjson").stat().st_size > 0  # cron's snapshot wrote filings
    assert (home / "recent.csv").read_text().startswith("accession_no,")
    before = _statuses(status)
    pane.keys("-l", "kill $(jobs -p); wait")  # the relay and nats-server
    pane.keys("Enter")
    pane.wait_for(lambda s: _statuses(status) > before)


#: What some lines must show, beyond their exit (the screen after they end).
SHOWS: dict[str, Callable[[str], bool]] = {
    # the 14 filings of forms with details whose real documents the demo has, each read
    "secfeed demo --details": lambda s: s.count('"summary":') == 14,
    # Premier's merger agreement, found in its 8-K's words
    "secfeed demo --grep": lambda s: "PREMIER FINANCIAL" in s and "Merger Agreement" in s,
    "archive search": lambda s: "fund" in s.lower() and bool(ACCESSION.search(s)),
    "archive stats": lambda s: "filings" in s,
    "--from ~/sec/filings.db -n 5": lambda s: len(ACCESSION.findall(s)) >= 5,
}


def test_the_capture_at_the_top_has_the_shape_of_a_fresh_one() -> None:
    """The README's capture is made by scripts/capture.py from a real demo; it differed from
    what the demo shows (no tickers, an old status line). --check makes a fresh one and
    compares the header, the marker and the status line."""
    import subprocess

    res = subprocess.run(
        [sys.executable, "scripts/capture.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=WAIT + 120,
    )
    assert res.returncode == 0, res.stderr
