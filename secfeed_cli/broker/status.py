"""The relay's status line: one line at the bottom of the terminal (stderr), redrawn in place a
few times a second, with secfeed's warnings printed above it (``Stderr.above``), as the
live table does for ``tail``. Only when stderr is a terminal; plain text, cut to the width."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable

from ..common import diagnostics
from ..common.diagnostics import Stderr

ERASE = "\r\x1b[K"


class StatusLine:
    def __init__(
        self,
        text: Callable[[], str],
        stderr: Stderr,
        fd: int = 2,
        interval: float = 0.25,
    ) -> None:
        """``stderr``: the command's lines, printed above the status line while it shows."""
        self.text = text
        self.stderr = stderr
        self.fd = fd
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._shown = ""
        self._thread = threading.Thread(
            target=self._tick, args=(interval,), name="relay-status", daemon=True
        )
        stderr.above = self._above
        self._draw()
        self._thread.start()

    def _line(self) -> str:
        width = shutil.get_terminal_size((80, 24)).columns
        return self.text()[: max(width - 1, 10)]

    def _write(self, text: str) -> None:
        diagnostics.write_terminal(self.fd, text)

    def _draw(self) -> None:
        with self.lock:
            line = self._line()
            if line != self._shown:
                self._shown = line
                self._write(ERASE + line)

    def _tick(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self._draw()

    def _above(self, line: str) -> None:
        """A diagnostic line where the status line was; the status line follows it."""
        with self.lock:
            self._write(ERASE + line)
            self._shown = self._line()
            self._write(self._shown)

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(1.0)
        self.stderr.above = None
        with self.lock:
            self._write(ERASE)
