"""Exceptions and exit codes: one hierarchy, one enum, one place that maps them (``cli.main``)."""

from __future__ import annotations

from enum import IntEnum

#: The FinFeedAPI SEC WebSocket (kept here, import-light, so the CLI need not load stream.py).
DEFAULT_URL = "wss://api.sec.finfeedapi.com"


class ExitCode(IntEnum):
    """The documented exit statuses of every ``secfeed`` command."""

    OK = 0  #: done: --count, --duration, --backlog-only complete, snapshot written, pipe closed
    ERROR = 1  #: internal error, or output cannot be written (e.g. disk full)
    USAGE = 2  #: bad option, argument or config file
    AUTH = 3  #: the API key was rejected
    CONNECT = (
        4  #: could not connect, gave up reconnecting, or the connection ended (--no-reconnect)
    )
    SERVER_ERROR = 5  #: the server reported another error under --no-reconnect
    BUSY = 6  #: another run holds the --state lock (snapshot: until --timeout)
    ARCHIVE = 7  #: the archive cannot be written or read (full disk, newer schema, not one)
    HANGUP = 129  #: SIGHUP (the terminal closed, or a supervisor asked)
    INTERRUPTED = 130  #: Ctrl-C (SIGINT)
    TERMINATED = 143  #: SIGTERM


class SecfeedError(Exception):
    """An expected failure: printed as one line on stderr, mapped to ``exit_code``."""

    exit_code = ExitCode.ERROR


class AuthRejected(SecfeedError):
    exit_code = ExitCode.AUTH


class ConnectFailed(SecfeedError):
    exit_code = ExitCode.CONNECT


class ServerReportedError(SecfeedError):
    exit_code = ExitCode.SERVER_ERROR


class StateBusy(SecfeedError):
    exit_code = ExitCode.BUSY


class ArchiveError(SecfeedError):
    """The archive (``--archive``, ``--from PATH``, ``secfeed archive``) cannot be used."""

    exit_code = ExitCode.ARCHIVE


class OutputError(SecfeedError):
    exit_code = ExitCode.ERROR


class Interrupted(SecfeedError):
    """Ctrl-C during a run, after the run has closed and summarised (no message)."""

    exit_code = ExitCode.INTERRUPTED


class Terminated(BaseException):
    """Raised in the main thread on SIGTERM or SIGHUP; like KeyboardInterrupt, not an Exception."""

    def __init__(self, signum: int = 15) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.HANGUP if self.signum == 1 else ExitCode.TERMINATED


def signal_status(signum: int) -> ExitCode:
    """The exit status a run ends with on signal ``signum``: 130 (SIGINT), 129 or 143."""
    return ExitCode.INTERRUPTED if signum == 2 else Terminated(signum).exit_code


def closed_pipe(exc: OSError) -> bool:
    """The reader of our output went away (``| head``): an ending, not a failure."""
    import errno

    return isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE


def write_failed(exc: OSError) -> OutputError:
    """An output write that failed for another reason (a full disk): exit 1, one line."""
    return OutputError(f"cannot write output: {exc.strerror or exc}")


def internal_error(exc: BaseException) -> str:
    """The one line for a bug (an exception no code expected): exit 1 goes with it."""
    return f"internal error: {type(exc).__name__}: {exc} (set SECFEED_DEBUG=1 for details)"
