"""The table for a terminal: rows scroll into the terminal's history, a status line stays.

As ``tail -f`` and ``kubectl get -w`` do, each filing is printed once, as a line; only the status
line at the bottom is redrawn (several times a second, by a thread, as heartbeat ages change).
Everything that writes to the terminal holds one lock: a batch of rows is written as "erase the
status line, the rows, the status line again", so the status line is never left in the rows.
Warnings on stderr go the same way (the command's ``Stderr.above``). The column header is
printed at the start, again each screenful (like vmstat) and whenever the width changes.

Widths come from ``layout.py``: from the terminal's width alone, never from the rows.

A burst faster than anyone can read (a reconnect's replay of thousands of filings, an emulator
firehose) is not drawn row by row: :class:`RowBudget` lets :data:`BURST_ROWS` rows through at
once and :data:`ROWS_PER_SECOND` after that; beyond it the rows are held for a frame, then one
line says how many filings were not drawn and the newest rows follow. Drawing every row would
make the terminal, not the feed, set the pace: the table would fall behind the stream, and the
server drops clients 131,072 messages behind. NDJSON and CSV never drop a row.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from ..common import diagnostics
from ..common.diagnostics import Stderr
from ..common.settings import AlertSettings
from ..wire.filing import Filing
from . import Counting, Output, Status
from .layout import (
    cell_width,
    fit_status,
    header,
    highlighter,
    latency_cell,
    layout,
    marker,
    row,
    sgr,
    undrawn_line,
)
from .records import latency_ms

BELL = "\a"
HIDE_CURSOR, SHOW_CURSOR = "\x1b[?25l", "\x1b[?25h"
#: Rows held before a write even without a flush (a burst goes out in pieces this big).
BATCH = 500
#: Rows drawn at once before the budget applies: more than a terminal's screen many times
#: over, and tmux's whole default history (2,000 lines).
BURST_ROWS = 2000
#: Rows a second drawn while a burst goes on (the budget's refill rate).
ROWS_PER_SECOND = 1000.0
#: While over budget, rows are held and drawn at most this often (seconds).
FRAME = 0.1


class RowBudget:
    """A token bucket of rows: ``capacity`` at once, refilled at ``rate`` a second. Pure
    arithmetic on the times it is given."""

    def __init__(
        self, capacity: float = BURST_ROWS, rate: float = ROWS_PER_SECOND, now: float = 0.0
    ) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.at = now

    def available(self, now: float) -> int:
        """Rows that may be drawn at ``now``."""
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        return int(self.tokens)

    def spend(self, rows: int) -> None:
        self.tokens -= rows


def terminal_size(fd: int) -> tuple[int, int]:
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return 80, 24
    return size.columns or 80, size.lines or 24


class TableSink(Counting):
    """The live view on a terminal (``fd``), written through ``out``."""

    def __init__(
        self,
        out: Output,
        fd: int,
        status: Callable[[], Status],
        latency: bool = False,
        color: bool = True,
        fps: float = 10.0,
        alerts: AlertSettings | None = None,
        utc: bool = False,
        details: bool = False,
        stderr: Stderr | None = None,
    ) -> None:
        """``stderr``: the command's lines, printed above the status line while it draws."""
        alerts = alerts or AlertSettings()
        self.stderr = stderr
        self.utc = utc
        self.details = details
        self.bell = alerts.bell
        self.bell_backlog = alerts.backlog
        self.highlight = highlighter(alerts.highlight)
        self.out = out
        self.fd = fd
        self.status = status
        self.latency = latency
        self.color = color
        self.lock = threading.RLock()
        self._rows: list[str] = []  # printed at the next flush
        # Filings not drawn yet, with their receive times (the latency cell), in batches.
        self._pending: list[tuple[list[Filing], float]] = []
        self._pending_count = 0
        self._dropped = 0  # held filings let go for good: counted in the next "not drawn"
        self._ring = False  # --bell: a batch since the last draw wants a ring
        self._budget = RowBudget(now=time.monotonic())
        self._drawn_at = 0.0
        #: Filings of a burst that were not drawn (see the module's docstring).
        self.undrawn = 0
        self._width = 0  # the width the columns were laid out for (0: none yet)
        self._columns = layout(80, latency, details)
        self._since_header = 0
        self._shown_status = ""
        #: Cells the status line on the terminal takes: after a shrink, a terminal that
        #: reflows (tmux, VTE, iTerm2, kitty, Windows Terminal) wraps it onto several rows.
        self._status_cells = 0
        self._stop = threading.Event()
        self._ticker = threading.Thread(
            target=self._tick, args=(1.0 / fps,), name="status-line", daemon=True
        )
        self._echo = _EchoOff()
        self._write(HIDE_CURSOR + self._status_text())
        if stderr is not None:
            stderr.above = self._above
        self._ticker.start()

    # -- the sink --

    def filings(self, filings: list[Filing], received: float) -> None:
        self._pending.append((filings, received))
        self._pending_count += len(filings)
        if self.bell and (self.bell_backlog or not all(f.is_historical for f in filings)):
            self._ring = True  # once a draw: a burst is one ring, not hundreds
        if self._pending_count >= BATCH:
            self.flush()

    def _draw(self, force: bool = False) -> None:
        """Turn pending filings into rows: all of them within the budget; otherwise, a frame
        after the last draw (or when ``force``d), a line for those not drawn and the newest
        rows the budget allows."""
        count = self._pending_count
        if not count:
            return
        now = time.monotonic()
        allowed = self._budget.available(now)
        if count > allowed and not force and now - self._drawn_at < FRAME:
            # Held, to be drawn at a later flush (each read, or the idle tick). No more is
            # kept than a draw could ever show: the memory held stays the same for any burst.
            while len(self._pending) > 1 and count - len(self._pending[0][0]) >= BURST_ROWS:
                dropped = len(self._pending.pop(0)[0])
                count -= dropped
                self._dropped += dropped
            self._pending_count = count
            return
        pending = self._pending
        self._pending = []
        self._pending_count = 0
        self._drawn_at = now
        width, height = terminal_size(self.fd)
        skip = max(0, count - allowed)
        if skip or self._dropped:
            self.undrawn += skip + self._dropped
            self._rows.append(undrawn_line(skip + self._dropped, width, self.color))
            self._dropped = 0
        drawn = 0
        for filings, received in pending:
            if skip >= len(filings):
                skip -= len(filings)
                continue
            for filing in filings[skip:] if skip else filings:
                if width != self._width or self._since_header >= max(height - 2, 5):
                    self._header(width)
                ms = None if filing.is_historical else latency_ms(filing, received)
                self._rows.append(
                    row(
                        filing,
                        self._columns,
                        latency_cell(ms),
                        self.color,
                        self.highlight,
                        self.utc,
                    )
                )
                self._since_header += 1
            drawn += len(filings) - skip
            skip = 0
        self._budget.spend(drawn)
        self._unflushed += drawn
        if self._ring and drawn:
            self._rows[-1] += BELL
        self._ring = False

    def _header(self, width: int) -> None:
        if width != self._width:
            self._width = width
            self._columns = layout(width, self.latency, self.details)
        self._rows.append(header(self._columns, self.color))
        self._since_header = 0

    def backlog_complete(self) -> None:
        self._draw(force=True)
        self._rows.append(marker(terminal_size(self.fd)[0], self.color))
        self.flush()

    def flush(self, force: bool = False) -> None:
        with self.lock:
            self._draw(force)
            if self._rows:
                text = self._erase() + "\n".join(self._rows) + "\n" + self._status_text()
                self._rows.clear()
                self._write_counting(text.encode("utf-8", "replace"), 0)
                self._flush_counting()

    def close(self) -> None:
        self._stop.set()
        if self._ticker.is_alive() and threading.current_thread() is not self._ticker:
            self._ticker.join(timeout=1.0)
        if self.stderr is not None:
            self.stderr.above = None
        with self.lock:
            try:
                self.flush(force=True)
            finally:
                try:
                    self._write(self._erase() + SHOW_CURSOR)
                finally:
                    self._echo.restore()

    # -- the status line --

    def _erase(self) -> str:
        """Erase the status line, on all the rows it now takes: each shrink of a terminal
        that reflows wraps the old line, whose first rows would stay in the scrollback."""
        width = terminal_size(self.fd)[0]
        rows = max(1, -(-self._status_cells // width))
        # Row by row with "erase line", upwards: "erase to the end of the screen" from the
        # top row would make tmux (scroll-on-clear) push the screen into the scrollback.
        return "\r\x1b[K" + "\x1b[A\x1b[K" * (rows - 1)

    def _status_text(self) -> str:
        width = terminal_size(self.fd)[0]
        parts = fit_status(self.status(), width)
        self._status_cells = sum(cell_width(text) for _, text in parts)
        self._shown_status = "".join(sgr(text, colour, self.color) for colour, text in parts)
        return self._shown_status + "\x1b[K"

    def _tick(self, interval: float) -> None:
        while not self._stop.wait(interval):
            with self.lock:
                if self._stop.is_set():
                    return
                before, cells = self._shown_status, self._status_cells
                erase = self._erase()  # for the line as it was written
                text = self._status_text()
                if self._shown_status != before or cells > terminal_size(self.fd)[0]:
                    self._write_fd(erase + text)

    def _above(self, line: str) -> None:
        """A diagnostic line, printed where the status line was; the status line follows."""
        with self.lock:
            self._write_fd(self._erase())
            sys.stderr.write(line)
            sys.stderr.flush()
            self._write_fd(self._status_text())

    def _write(self, text: str) -> None:
        """From the main thread: through ``out`` (whole writes, signals held meanwhile)."""
        self.out.write(text.encode("utf-8", "replace"))
        self.out.flush()

    def _write_fd(self, text: str) -> None:
        """From any thread: straight to the terminal (the main thread finds out if it is gone)."""
        diagnostics.write_terminal(self.fd, text)


class _EchoOff:
    """While the live table runs, keys typed at its terminal are not echoed: they landed on
    the status line (``p50 0msqhello``). Ctrl-C and Ctrl-Z still work (signals stay on). At
    the end the terminal is as it was, and what was typed meanwhile is discarded, so that it
    does not run as a command at the shell's prompt."""

    def __init__(self, fd: int = 0) -> None:
        self.fd = fd
        self.saved: list[Any] | None = None
        try:
            # Only in the foreground: a background job changing its terminal is stopped
            # (SIGTTOU), and the terminal belongs to whoever is in front.
            if not os.isatty(fd) or os.tcgetpgrp(fd) != os.getpgrp():
                return
            import termios

            saved = termios.tcgetattr(fd)
            quiet = list(saved)
            quiet[3] &= ~(termios.ECHO | termios.ECHONL)
            termios.tcsetattr(fd, termios.TCSANOW, quiet)
            self.saved = saved
        except (OSError, ImportError, ValueError):
            self.saved = None
        except Exception:  # noqa: BLE001 - termios.error: the terminal stays as it is
            self.saved = None

    def restore(self) -> None:
        if self.saved is None:
            return
        import termios

        try:
            termios.tcsetattr(self.fd, termios.TCSAFLUSH, self.saved)
        except (OSError, termios.error):
            pass
        self.saved = None


class PlainTableSink(Counting):
    """``--format table`` on a non-terminal: the table's columns at 160 cells (or ``COLUMNS``),
    no colour."""

    WIDTH = 160

    def __init__(
        self,
        out: Output,
        latency: bool = False,
        width: int = WIDTH,
        utc: bool = False,
        details: bool = False,
    ) -> None:
        self.out = out
        self.latency = latency
        self.utc = utc
        self.width = width
        self.columns = layout(width, latency, details)
        self._lines: list[str] = []
        self._header_due = True  # printed with the first row

    def filings(self, filings: list[Filing], received: float) -> None:
        if self._header_due:
            self._lines.append(header(self.columns, False))
            self._header_due = False
        for filing in filings:
            ms = None if filing.is_historical else latency_ms(filing, received)
            self._lines.append(row(filing, self.columns, latency_cell(ms), False, utc=self.utc))
        self._unflushed += len(filings)

    def backlog_complete(self) -> None:
        self._lines.append(marker(self.width, False))
        self.flush()

    def flush(self) -> None:
        if self._lines:
            self._write_counting(("\n".join(self._lines) + "\n").encode("utf-8"), 0)
            self._lines.clear()
        self._flush_counting()

    def close(self) -> None:
        self.flush()


__all__ = ["PlainTableSink", "TableSink"]
