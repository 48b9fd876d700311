"""The live table in a real terminal: tmux runs `secfeed tail`, capture-pane reads the screen."""

from __future__ import annotations

import functools
import json
import os
import re
import select
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from secfeed_cli.emulator.feed import load_sample
from secfeed_cli.emulator.server import Emulator

from .conftest import ROOT, secfeed
from .patience import WAIT

Factory = Callable[..., Emulator]

if not shutil.which("tmux"):
    if os.environ.get("SECFEED_REQUIRE_TMUX"):
        raise RuntimeError("tmux is required (SECFEED_REQUIRE_TMUX is set) but not installed")
    pytest.skip("tmux is not installed", allow_module_level=True)

EVIL = "EVIL \x1b[31mRED\x1b[0m \x1b[2J\x07 CORP"


class Pane:
    """One tmux server (own socket) with one window running a command."""

    def __init__(
        self, tmp: Path, command: str, width: int = 160, height: int = 30, history: int = 2000
    ) -> None:
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
        # The server reads this file when it starts: the pane's history is as long as asked.
        conf = tmp / f"tmux-{id(self)}.conf"
        conf.write_text(f"set -g history-limit {history}\n")
        self._tmux(
            "-f",
            str(conf),
            "new-session",
            "-d",
            "-x",
            str(width),
            "-y",
            str(height),
            wrapped,
            env=env,
        )
        # Everything the pane prints from now on also goes down a FIFO: its arrival is the
        # event wait_for() awaits. Opened read-write, so it never reads as closed.
        fifo = tmp / f"output-{id(self)}"
        os.mkfifo(fifo)
        self._output = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
        self.raw = b""  # what the pane printed, as wait_for() read it
        self._tmux("pipe-pane", f"cat > {shlex.quote(str(fifo))}")
        self.server = int(self._tmux("display-message", "-p", "#{pid}"))

    def _tmux(self, *args: str, env: dict[str, str] | None = None) -> str:
        res = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            timeout=WAIT,
            env=env,
            check=True,
        )
        return res.stdout.decode()

    def screen(self, escapes: bool = False) -> str:
        return self._tmux("capture-pane", "-p", *(["-e"] if escapes else []))

    def history(self) -> str:
        """Everything the pane holds: the scrollback and the screen."""
        return self._tmux("capture-pane", "-p", "-S", "-")

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = WAIT) -> str:
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
                    data = os.read(self._output, 1 << 16)
                except BlockingIOError:
                    break
                if not data:
                    break
                self.raw += data

    def wait_for_output(self, needle: bytes, timeout: float = WAIT) -> bytes:
        """Read what the pane prints until ``needle`` is in it (in order of printing)."""
        deadline = time.monotonic() + timeout
        while needle not in self.raw:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._output], [], [], left)[0]:
                raise AssertionError(f"never printed {needle!r}; printed:\n{self.raw[-2000:]!r}")
            try:
                self.raw += os.read(self._output, 1 << 16)
            except BlockingIOError:
                pass
        return self.raw

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", *keys)

    def resize(self, width: int, height: int) -> None:
        self._tmux("resize-window", "-x", str(width), "-y", str(height))

    def exit_code(self, timeout: float = WAIT) -> int:
        """Await the command's exit (signalled through a tmux wait-for channel)."""
        subprocess.run(
            ["tmux", "-L", self.socket, "wait-for", self.channel], timeout=timeout, check=True
        )
        return int(self.done.read_text())

    def kill(self) -> None:
        """End the tmux server and await its end (kill-server returns before it has); once."""
        if self._output < 0:
            return
        try:
            server = os.pidfd_open(self.server)
        except ProcessLookupError:
            server = None
        subprocess.run(
            ["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=WAIT
        )
        if server is not None:
            select.select([server], [], [], WAIT)
            os.close(server)
        os.close(self._output)
        self._output = -1


@pytest.fixture
def pane_factory(tmp_path: Path) -> Iterator[Callable[..., Pane]]:
    panes: list[Pane] = []

    def make(args: str, stderr_here: bool = False, **kw: int) -> Pane:
        err = tmp_path / f"stderr-{len(panes)}"
        cmd = f"{shlex.quote(sys.executable)} -m secfeed_cli {args}"
        if not stderr_here:  # else warnings share the terminal with the table
            cmd += f" 2>{err}"
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
    # A CIK outside SEC's map: the table shows the company from the description.
    sample[45] = {**sample[45], "description": EVIL, "cik": 9_999_999_991}
    path = tmp_path / "sample.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in sample))
    # Live filings only when the test publishes them: none can go by before a client is there.
    return emulator_factory(backlog=40, rate=0, sample_path=str(path))


ACCESSION = re.compile(r"\d{10}-\d{2}-\d{6}")
ROW = re.compile(r"\d\d:\d\d:\d\d  ")


def _ndjson(url: str) -> list[dict[str, Any]]:
    """What the emulator's backlog holds, read through the NDJSON output."""
    res = secfeed("tail", "--url", url, "--backlog-only")
    assert res.returncode == 0, res.stderr
    return [json.loads(line) for line in res.stdout.splitlines()]


def test_rows_stay_in_the_terminal_history_in_stable_columns(
    emulator_factory: Factory, pane_factory: Callable[..., Pane]
) -> None:
    em = emulator_factory(backlog=300)
    expected = _ndjson(em.url)
    assert len(expected) == 300
    pane = pane_factory(f"tail --url {em.url} --count 300", width=100, height=20)
    assert pane.exit_code() == 0
    history = pane.history().splitlines()
    rows = [line for line in history if ACCESSION.search(line)]
    # Every row shown is in the history, once, in order: nothing was only painted over.
    assert [ACCESSION.findall(line)[0] for line in rows] == [r["accession_no"] for r in expected]
    # The columns come from the width, not from the rows: every row lines up with every other.
    headers = [line for line in history if line.startswith("discovered")]
    assert len(headers) >= 300 // 18, "the header comes back each screenful"
    assert len(set(headers)) == 1
    company_at = headers[0].index("company")
    accession_at = headers[0].index("accession")
    for line, record in zip(rows, expected, strict=True):
        assert line.index(record["accession_no"]) == accession_at, line
        company = record["company"] + (f" ({record['ticker']})" if record["ticker"] else "")
        assert line[company_at:].startswith(company[:20]), (line, company)
        assert len(line) < 100
    # The status line was redrawn in place: none of it was left among the rows.
    assert not any("shown" in line for line in history)


def test_80_columns_keep_the_company_readable_and_the_status_line_whole(
    emulator_factory: Factory, pane_factory: Callable[..., Pane]
) -> None:
    em = emulator_factory(backlog=40)
    expected = _ndjson(em.url)
    pane = pane_factory(f"tail --url {em.url}", width=80, height=24)
    screen = pane.wait_for(lambda s: "● live" in s and expected[-1]["accession_no"] in s)
    lines = screen.rstrip("\n").splitlines()
    status = lines[-1]
    assert status.startswith("● live") and "shown" in status, status
    assert len(status) < 80 and not status.endswith("…")
    header = next(line for line in lines if line.startswith("discovered"))
    assert header.split() == ["discovered", "form", "company", "accession"]
    by_accession = {r["accession_no"]: r for r in expected}
    company_at = header.index("company")
    for line in lines:
        found = ACCESSION.search(line)
        if found:
            record = by_accession[found.group()]
            # The name starts the cell (shortened, if need be, to keep the ticker whole).
            assert line[company_at:].startswith(record["company"][:12]), line
            if record["ticker"]:
                assert f"({record['ticker']})" in line, line
            assert "(00" not in line, "the zero-padded CIK of the description is not repeated"
    pane.keys("C-c")
    assert pane.exit_code() == 130


def test_first_contact_names_the_cause_and_the_retry(
    pane_factory: Callable[..., Pane],
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))  # bound, not listening: every attempt is refused
        port = probe.getsockname()[1]
        pane = pane_factory(
            f"tail --url ws://127.0.0.1:{port} --max-retries 100", stderr_here=True, width=120
        )
        screen = pane.wait_for(
            lambda s: "connection refused · retry in" in s and "retrying in" in s
        )
        lines = screen.rstrip("\n").splitlines()
        assert lines[-1].startswith(f"● 127.0.0.1:{port}: connection refused · retry in")
        warning = next(line for line in lines if "warning" in line)
        assert f"connect to 127.0.0.1:{port} failed: connection refused; retrying in" in warning
        assert not any("●" in line for line in lines[:-1]), "warnings print above the status"
        pane.keys("C-c")
        assert pane.exit_code() == 130


def test_live_table_marker_status_and_escaping(
    evil_emulator: Emulator, pane_factory: Callable[..., Pane], tmp_path: Path
) -> None:
    em = evil_emulator
    pane = pane_factory(f"tail --url {em.url} --latency --count 12 --no-backlog --form '*'")
    # A second run that shows the backlog too (the marker) and stays up for the resize.
    pane2 = pane_factory(f"tail --url {em.url}")
    em.wait_for("hello", conn=1)
    em.wait_for("hello", conn=2)
    em.publish(12)  # both are subscribed: the sixth of these is the hostile one
    pane.wait_for(lambda s: "EVIL" in s)
    # Everything asserted below is waited for (a screen read mid-repaint can lack a part).
    screen = pane2.wait_for(
        lambda s: "backlog above" in s and "EVIL" in s and "52 shown" in s and "heartbeat" in s
    )
    lines = screen.rstrip("\n").splitlines()
    marker = next(i for i, line in enumerate(lines) if "backlog above" in line)
    assert marker > 2, "backlog rows above the marker"
    status = lines[-1]
    assert status.startswith(f"● live · 127.0.0.1:{em.port}") and "0 malformed" in status
    assert "heartbeat" in status and "live latency" in status
    assert len([line for line in lines if ACCESSION.search(line)]) >= 20

    # The first pane ran to its count with the hostile description shown escaped.
    assert pane.exit_code() == 0
    shown = pane.screen()
    evil_line = next(line for line in shown.splitlines() if "EVIL" in line)
    assert "\\x1b[31mRED\\x1b[0m" in evil_line and "\\x1b[2J\\x07" in evil_line
    assert "latency" in shown.splitlines()[0]
    assert "discovered" in shown.splitlines()[0]

    # After a resize, new rows and the status line take the new width.
    pane2.resize(90, 15)
    em.publish(3)

    def repainted(screen: str) -> bool:
        lines = screen.rstrip("\n").splitlines()
        return "55 shown" in lines[-1] and len(lines[-1]) < 90

    small = pane2.wait_for(repainted).rstrip("\n").splitlines()
    header = next(line for line in reversed(small) if line.startswith("discovered"))
    assert len(header) < 90, "the header is printed again for the new width"
    assert all(len(line) < 90 for line in small[small.index(header) :])
    pane2.keys("C-c")
    assert pane2.exit_code() == 130


def test_bell_and_highlight_in_the_live_table(
    emulator_factory: Factory, pane_factory: Callable[..., Pane]
) -> None:
    em = emulator_factory(backlog=3)
    upcoming = em.feed.peek_next()
    # The zero-padded CIK is in the SEC description: it marks that filer's rows.
    pane = pane_factory(f"tail --url {em.url} --bell --highlight {upcoming['cik']:010d}")
    em.wait_for("hello")
    pane.wait_for(lambda s: "backlog above" in s)
    published = [p.record for p in em.publish(2)]
    assert published[0]["accession_no"] == upcoming["accession_no"]
    pane.wait_for(lambda s: published[1]["accession_no"] in s and b"\a" in pane.raw)
    # The bell rang for live filings only: not for the backlog printed before them.
    assert pane.raw.index(b"\a") > pane.raw.index(published[0]["accession_no"].encode())
    screen = pane.screen(escapes=True).splitlines()
    first, second = (next(line for line in screen if r["accession_no"] in line) for r in published)
    assert "7m" in first, "the matching row is in reverse video"
    if published[1]["cik"] != upcoming["cik"]:
        assert "7m" not in second
    pane.keys("C-c")
    assert pane.exit_code() == 130


def test_a_burst_is_summarised_not_drawn_row_by_row(
    emulator_factory: Factory, pane_factory: Callable[..., Pane], tmp_path: Path
) -> None:
    """20,000 filings at once: the first 2,000 rows are drawn, then a line says how many were
    not drawn and the newest follow; every filing is a row or counted in such a line."""
    n = 20_000  # shed unless drawing took over 18 s: 2,000 rows + 1,000 a second
    em = emulator_factory(firehose=n, backlog=0)
    expected = [r["accession_no"] for r in _ndjson(em.url)]
    assert len(expected) == n
    pane = pane_factory(f"tail --url {em.url} --backlog-only", width=120, height=20, history=50_000)
    assert pane.exit_code() == 0
    history = pane.history().splitlines()
    undrawn_at = [i for i, line in enumerate(history) if "filings not drawn" in line]
    assert undrawn_at, "a burst of 20,000 is not drawn row by row"
    undrawn = [
        int(re.search(r"⋯ ([\d,]+) filings", history[i]).group(1).replace(",", ""))  # type: ignore[union-attr]
        for i in undrawn_at
    ]
    shown = [ACCESSION.findall(line)[0] for line in history if ACCESSION.search(line)]
    assert len(shown) + sum(undrawn) == n
    # The rows drawn are filings of the burst, once each, in the feed's order.
    order = {accession: i for i, accession in enumerate(expected)}
    positions = [order[a] for a in shown]
    assert positions == sorted(set(positions))
    # A whole screenful many times over is drawn before the budget applies (2,000 rows,
    # less at most one batch of 500 that did not fit any more), and the last filing is shown.
    first = sum(1 for line in history[: undrawn_at[0]] if ACCESSION.search(line))
    assert first >= 1500
    assert shown[-1] == expected[-1]
    err = (tmp_path / "stderr-0").read_text()
    assert f"{len(shown)} shown" in err and f"{sum(undrawn)} not drawn" in err, err


def test_hook_output_goes_above_the_status_line_as_whole_lines(
    emulator_factory: Factory, pane_factory: Callable[..., Pane]
) -> None:
    em = emulator_factory(backlog=3)
    # Each hook prints a line without waiting for anything: several may print at once.
    pane = pane_factory(
        f"tail --url {em.url} --exec 'echo HOOK-$SECFEED_ACCESSION_NO'", stderr_here=True
    )
    em.wait_for("hello")
    live = [p.record["accession_no"] for p in em.publish(6)]
    pane.wait_for(lambda s: sum("HOOK-" in line for line in s.splitlines()) == 6 and "9 shown" in s)
    pane.keys("C-c")
    assert pane.exit_code() == 130
    history = pane.history().rstrip("\n").splitlines()
    hooks = [line for line in history if "HOOK-" in line]
    # Whole lines of their own, never glued to the status line or to each other.
    assert sorted(line.strip() for line in hooks) == sorted(f"HOOK-{a}" for a in live), hooks
    assert all(line.startswith("HOOK-") for line in hooks), hooks
    # The status line was redrawn in place, not left in the scrollback once per hook line.
    assert not any("● live" in line for line in history), history


@pytest.mark.parametrize(("width", "latency"), [(80, False), (120, True)])
def test_the_ticker_is_never_cut(
    emulator_factory: Factory, pane_factory: Callable[..., Pane], width: int, latency: bool
) -> None:
    em = emulator_factory(backlog=300)
    expected = _ndjson(em.url)
    assert sum(1 for r in expected if r["ticker"]) > 50  # the sample has plenty
    args = f"tail --url {em.url} --backlog-only" + (" --latency" if latency else "")
    pane = pane_factory(args, width=width, height=20)
    assert pane.exit_code() == 0
    # Rows in the order of the records (at 80 columns there is no accession column to match).
    rows = [line for line in pane.history().splitlines() if ROW.match(line)]
    assert len(rows) == len(expected)
    cut = [
        r["ticker"]
        for r, line in zip(expected, rows, strict=True)
        if r["ticker"] and f"({r['ticker']})" not in line
    ]
    assert not cut, f"{len(cut)} rows lost their ticker: {cut[:5]}"


def _status_fits(screen: str, width: int) -> bool:
    last = screen.rstrip("\n").splitlines()[-1]
    return last.startswith("● live") and len(last) <= width


def test_shrinking_the_terminal_leaves_no_piece_of_the_status_line(
    emulator_factory: Factory, pane_factory: Callable[..., Pane]
) -> None:
    em = emulator_factory(backlog=10)
    pane = pane_factory(f"tail --url {em.url}", width=160, height=20)
    pane.wait_for(lambda s: "● live ·" in s)  # the wide form, with the host
    for width in (90, 50, 35):
        pane.resize(width, 20)
        # The status line is redrawn for the new width: one row, its last.
        pane.wait_for(functools.partial(_status_fits, width=width))
    history = pane.history()
    assert history.count("● live") == 1, history  # no fragment left in the scrollback
    assert history.count("shown") == 1, history
    pane.keys("C-c")
    assert pane.exit_code() == 130


def test_keys_typed_at_the_table_are_not_echoed_and_the_terminal_is_restored(
    evil_emulator: Emulator, pane_factory: Callable[..., Pane]
) -> None:
    em = evil_emulator
    pane = pane_factory(f"tail --url {em.url}", width=120, height=20)
    pane.wait_for(lambda s: "● live" in s)
    pane.keys("qhello")
    published = em.publish(1)[0].accession_no
    pane.wait_for(lambda s: published in s)
    pane.keys("C-c")
    assert pane.exit_code() == 130
    # Echo is back (the pane now runs `sleep`, reading nothing): typed keys show again. The
    # terminal prints in the order keys were typed, so an echo of "qhello" would come first
    # (a status line redrawn over it hides it from the screen, not from this stream).
    pane.keys("world")
    printed = pane.wait_for_output(b"world")
    assert b"hello" not in printed, printed[-2000:]
    assert "hello" not in pane.history()  # discarded, not left for the shell to run


def test_utc_shows_the_live_tables_times_in_utc(
    emulator_factory: Factory, pane_factory: Callable[..., Pane], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "EST5")  # the pane's tmux server starts with it
    em = emulator_factory(backlog=5)
    newest = em.feed.backlog(5)[-1]
    utc = newest.discovered_time[11:19]
    for args, shown in (("--utc", utc), ("", f"{(int(utc[:2]) - 5) % 24:02d}{utc[2:]}")):
        pane = pane_factory(f"tail --url {em.url} {args}", width=160, height=20)
        screen = pane.wait_for(lambda s: newest.accession_no in s)
        line = next(x for x in screen.splitlines() if newest.accession_no in x)
        assert line.startswith(shown), (args, line)
        pane.keys("C-c")
        assert pane.exit_code() == 130


def test_archive_search_in_a_terminal_is_a_line_a_filing_in_local_time(
    emulator_factory: Factory,
    pane_factory: Callable[..., Pane],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """It wrapped every row at 120 columns and showed UTC: now one line each within the
    terminal, the company giving way, times local as in the live table."""
    from .conftest import ndjson, secfeed

    monkeypatch.setenv("TZ", "EST5")
    em = emulator_factory(backlog=60)
    path = tmp_path / "filings.db"
    kept = secfeed("tail", "--url", em.url, "--backlog-only", "-q", "--archive", str(path))
    assert kept.returncode == 0, kept.stderr
    found = ndjson(secfeed("archive", "search", str(path), "Inc").stdout)
    assert len(found) >= 3
    pane = pane_factory(f"archive search {path} Inc", width=90, height=70)
    assert pane.exit_code() == 0
    lines = [x for x in pane.screen().splitlines() if x.strip()]
    assert lines[0].split()[:3] == ["discovered", "form", "company"]
    assert len(lines) == 1 + len(found) and all(len(x) < 90 for x in lines), lines
    for record, line in zip(found, lines[1:], strict=True):
        assert record["accession_no"] in line
        utc = record["discovered_time"]
        hour = (int(utc[11:13]) - 5) % 24
        assert f"{hour:02d}:{utc[14:16]}" == line[11:16], (utc, line)
