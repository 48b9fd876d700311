"""Where the line sinks write in ``tail``: standard output, in whole batches of whole lines.

A burst becomes a few large writes (64 KiB or more), and lines still leave as soon as what was
read is handled (the sinks flush on each caught-up event). Each write goes out whole, with
SIGINT/SIGTERM/SIGHUP held until it has (see ``signals.py``): a signal that arrives while the
write is blocked on a full pipe takes effect after the lines in progress, never halfway
through one, and the summary's count is then exactly the lines written.
"""

from __future__ import annotations

import os

from ..signals import writes_complete


class StdoutLines:
    """A minimal binary file over a file descriptor: ``write`` buffers, ``flush`` writes."""

    def __init__(self, fd: int, limit: int = 1 << 16) -> None:
        self.fd = fd
        self.limit = limit
        self._parts: list[bytes] = []
        self._size = 0

    def write(self, data: bytes) -> int:
        self._parts.append(data)
        self._size += len(data)
        if self._size >= self.limit:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if not self._parts:
            return
        data = b"".join(self._parts)
        self._parts.clear()
        self._size = 0
        with writes_complete():
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view) :]

    def close(self) -> None:
        self.flush()
