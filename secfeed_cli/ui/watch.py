"""The ui ends when what it serves is gone, and a signal always ends it.

A ui whose terminal was closed (``tmux kill-session``, an SSH link that dropped), whose page's
server ended, or whose parent died is serving nobody: :class:`Watchdog` notices within
:data:`EVERY` seconds, from a thread of its own, and asks the app to quit. A quit that is
asked (so, a signal too: ``arm``) and does not happen within :data:`GRACE` seconds ends the
process at once: an app stuck in a loop that no longer hears anything cannot outlive its
reason to exist.

How each loss is seen, without reading anything: the terminal or the page's pipe on stdin
reports a hang-up (``POLLHUP``, or an error, on a poll of the descriptor); the parent is
another process than the one that started the ui (``getppid()``, which Linux changes to init
or a subreaper when the parent ends). Under ``--serve`` the server also names itself in
``SECFEED_SERVE_PID``, so that a page's app started after the server ended sees it at once.
"""

from __future__ import annotations

import os
import select
import threading
from collections.abc import Callable

from ..errors import ExitCode

#: How often the terminal and the parent are looked at (seconds).
EVERY = 0.25
#: How long a quit that was asked may take before the process ends without it (seconds).
GRACE = 2.0
#: The environment variable in which ``ui --serve`` gives its pages' apps its pid.
SERVER_PID = "SECFEED_SERVE_PID"


def stdin_gone(fd: int = 0) -> bool:
    """Whether the terminal or pipe on ``fd`` has hung up (closed at the other end)."""
    try:
        poller = select.poll()
        poller.register(fd, select.POLLHUP | select.POLLERR | select.POLLNVAL)
        events = poller.poll(0)
    except (OSError, ValueError):
        return True
    return any(mask & (select.POLLHUP | select.POLLERR | select.POLLNVAL) for _, mask in events)


class Watchdog:
    """See the module. ``quit(code)`` asks the app to end with ``code``; it is called from a
    thread of its own, so that an app that no longer answers cannot hold the watchdog."""

    def __init__(
        self,
        quit: Callable[[int], None],
        parent: int | None = None,
        watch_stdin: bool = True,
        exit_now: Callable[[int], None] = os._exit,
    ) -> None:
        self._quit = quit
        self._exit_now = exit_now
        served = os.environ.get(SERVER_PID, "")
        self.parent = int(served) if served.isdigit() else (parent or os.getppid())
        self.watch_stdin = watch_stdin
        self.reason: str | None = None
        self._armed = threading.Event()
        self._code = int(ExitCode.HANGUP)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="secfeed-ui-watch", daemon=True)

    def start(self) -> Watchdog:
        self._thread.start()
        return self

    def stop(self) -> None:
        """The app has ended by itself: nothing more to watch."""
        self._stopped.set()
        self._armed.set()

    def arm(self, code: int) -> None:
        """A quit was asked (a signal): the process ends within :data:`GRACE` seconds."""
        self._code = code
        self._armed.set()

    def gone(self) -> str | None:
        """What is gone, if anything: the parent, or the terminal (the page's pipe)."""
        if os.getppid() != self.parent:
            return "its parent ended"
        if self.watch_stdin and stdin_gone():
            return "its terminal was closed"
        return None

    def _run(self) -> None:
        while not self._armed.wait(EVERY):
            reason = self.gone()
            if reason is not None:
                self.reason = reason
                self._code = int(ExitCode.HANGUP)
                threading.Thread(target=self._quit, args=(self._code,), daemon=True).start()
                break
        if self._stopped.wait(GRACE):
            return
        self._exit_now(self._code)
