"""SIGINT, SIGTERM and SIGHUP end a run cleanly, and never in the middle of a write.

The handlers raise in the main thread (KeyboardInterrupt for SIGINT, :class:`Terminated` for
SIGTERM and SIGHUP), so the run unwinds through its ``finally`` clauses: connections closed,
output flushed, temporary files removed, the summary printed. While :func:`writes_complete` is
active (a batch of lines going to stdout) a signal is held until the write has finished, so
output never ends in half a line. A second signal during that write is not held: a user who
insists gets an exit at once.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from ..errors import Terminated

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

_deferring = 0
_pending: int | None = None


def install() -> None:
    for signum in HANDLED:
        signal.signal(signum, _handler)


def _handler(signum: int, frame: FrameType | None) -> None:
    global _pending
    if _deferring and _pending is None:
        _pending = signum
        return
    _raise(signum)


def pending() -> int | None:
    """The signal held by :func:`writes_complete`, if one arrived (C code that runs long
    polls this to stop early: a statement of SQLite)."""
    return _pending


_raised: int | None = None


def raised() -> int | None:
    """The signal whose exception was raised in this process, if one was: whatever went wrong
    after it (an import it cut short) is its consequence, and the exit is the signal's."""
    return _raised


def _raise(signum: int) -> None:
    global _raised
    _raised = signum
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum)


@contextmanager
def writes_complete() -> Iterator[None]:
    """Hold SIGINT/SIGTERM/SIGHUP until the block is done, then act on the first one held."""
    global _deferring, _pending
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
        if not _deferring and _pending is not None:
            signum, _pending = _pending, None
            _raise(signum)
