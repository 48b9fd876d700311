"""The ui's feed: the same run as ``tail`` (``run/execute.py``), on a thread of its own, into
an :class:`Inbox` that the app empties on its clock (every :data:`TICK` seconds).

The feed thread never waits for the screen: it appends to a list under a lock. The app never
waits for the feed: it swaps the list out. Quitting the app makes the sink raise
:class:`Quit` at its next call (a filing, or the idle tick every 0.2 s), which ends the run as
a signal would: the output settled, the archive closed, the connection shut.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import ExitCode, SecfeedError, Terminated, internal_error
from ..output import Status
from ..wire.filing import Filing

if TYPE_CHECKING:
    from ..output import Sink

#: How often the app takes what arrived and redraws (seconds): about 20 frames a second.
TICK = 0.05
#: Lines from the run (warnings, information) kept for the app to show.
NOTES = 200


class Quit(Terminated):
    """The person quit the ui: the run ends as after a signal, with exit 0."""

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK


class Inbox:
    """What the feed thread hands the app: batches of filings, the run's lines, and how the
    run ended."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._batches: list[tuple[list[Filing], float]] = []
        self._late: list[Filing] = []  # shown deferred, their details in since
        self._notes: list[str] = []
        self.quitting = False
        self.status: Callable[[], Status] | None = None
        self.ended: tuple[int, str | None] | None = None  # exit code, error line

    def put(self, filings: list[Filing], received: float) -> None:
        with self._lock:
            self._batches.append((filings, received))

    def put_late(self, filing: Filing) -> None:
        with self._lock:
            self._late.append(filing)

    def take_late(self) -> list[Filing]:
        with self._lock:
            late, self._late = self._late, []
        return late

    def note(self, line: str) -> None:
        with self._lock:
            self._notes.append(line.rstrip("\n"))
            del self._notes[:-NOTES]

    def take(self) -> tuple[list[tuple[list[Filing], float]], list[str]]:
        """Everything since the last take: batches of filings, and lines."""
        with self._lock:
            batches, self._batches = self._batches, []
            notes, self._notes = self._notes, []
        return batches, notes

    def end(self, code: int, error: str | None) -> None:
        self.ended = (code, error)


class UiSink:
    """The run's sink: filings into the inbox (each counted as shown: the ui keeps them)."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox
        self.written = 0

    def _check(self) -> None:
        if self.inbox.quitting:
            raise Quit()

    def filings(self, filings: list[Filing], received: float) -> None:
        self._check()
        self.inbox.put(filings, received)
        self.written += len(filings)

    def late(self, filing: Filing) -> None:
        """A filing shown ``deferred`` whose details came in (a details worker's thread)."""
        self.inbox.put_late(filing)

    def backlog_complete(self) -> None:
        pass  # backlog rows are drawn dim: the list shows where the live ones begin

    def flush(self) -> None:
        self._check()

    def close(self) -> None:
        pass


def start(
    run: Callable[[Callable[[Callable[[], Status]], Sink]], int], inbox: Inbox
) -> threading.Thread:
    """Start ``run`` (``execute`` with everything but the sink given) on a daemon thread; its
    exit code and error line land in ``inbox.end``."""

    def view(status: Callable[[], Status]) -> Sink:
        inbox.status = status
        return UiSink(inbox)

    def main() -> None:
        code: int = ExitCode.ERROR
        error: str | None = None
        try:
            code = run(view)
        except Terminated as exc:
            code = exc.exit_code
        except SecfeedError as exc:
            code, error = exc.exit_code, str(exc) or None
        except Exception as exc:  # a bug: said as the entry point says one
            error = internal_error(exc)
        finally:
            inbox.end(code, error)

    thread = threading.Thread(target=main, name="secfeed-ui-feed", daemon=True)
    thread.start()
    return thread
