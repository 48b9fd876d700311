"""The entry point: the CLI run with its Environment, every outcome mapped to a documented
exit status, and the quick exit (no interpreter teardown when nothing needs it)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, NoReturn

import click

from ..errors import ExitCode, SecfeedError, Terminated, internal_error, signal_status

if TYPE_CHECKING:
    from ..run.environment import Environment


class _RedactingStderr:
    """stderr for click's own messages, through the same redaction as every other line."""

    def __init__(self, env: Environment) -> None:
        self.env = env

    def write(self, text: str) -> int:
        sys.stderr.write(self.env.secrets.redact(text))
        return len(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def main(argv: list[str] | None = None, env: Environment | None = None) -> None:
    """The console script: runs the CLI and maps every outcome to a documented exit status.
    ``env``: what the command touches outside itself (a test's; else this process's)."""
    from ..common import signals
    from ..run.environment import Environment

    signals.install()
    # The command's own: its secrets mask its every line, errors too.
    code = _outcome(argv, env or Environment())
    sys.exit(int(code) if isinstance(code, int) else 0)


def _outcome(argv: list[str] | None, env: Environment) -> int | None:
    try:
        from . import cli as group  # a signal may land in these imports too

        code: int | None = group.main(
            args=argv, prog_name="secfeed", standalone_mode=False, obj=env
        )
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show(file=_RedactingStderr(env))  # type: ignore[arg-type]
        code = exc.exit_code
    except (KeyboardInterrupt, click.exceptions.Abort):
        code = ExitCode.INTERRUPTED
    except Terminated as exc:
        code = exc.exit_code
    except SecfeedError as exc:
        if str(exc):
            env.diagnostics().error(str(exc))
        code = exc.exit_code
    except BrokenPipeError:
        from ..run.execute import silence_stdout

        silence_stdout()
        code = ExitCode.OK
    except Exception as exc:  # a bug: one line, unless SECFEED_DEBUG asks for the traceback
        import os

        from ..common import signals

        signum = signals.raised()
        if signum is not None:  # a signal cut something short (an import): its exit status
            return signal_status(signum)
        if os.environ.get("SECFEED_DEBUG"):
            raise
        env.diagnostics().error(internal_error(exc))
        code = ExitCode.ERROR
    return code


def entry() -> None:
    """The console script and ``python -m secfeed_cli``: :func:`main`, then :func:`leave`."""
    try:
        main()
    except SystemExit as done:
        leave(done.code if isinstance(done.code, int) else 0)
    except KeyboardInterrupt:  # a signal between the handlers' install and the command
        leave(ExitCode.INTERRUPTED)
    except Terminated as exc:
        leave(exc.exit_code)


def leave(code: int) -> NoReturn:
    """Exit with ``code`` without tearing the interpreter down, when nothing needs that.

    The teardown frees every module and the CIK map one object at a time: 20-45 ms, a tenth of
    a short run's time, for nothing. So once stdout and stderr are flushed, the process ends
    with ``os._exit``, unless the interpreter has work left there: an exit function
    (``atexit``: logging, tempfile's finalizers and apprise register theirs), a thread it
    would wait for, or a flush that fails (the normal exit reports that). Then it exits as
    usual.
    """
    import atexit
    import os
    import threading

    pending = getattr(atexit, "_ncallbacks", None)
    thread_exits = getattr(threading, "_threading_atexits", None)
    if (
        pending is None
        or pending()
        or thread_exits is None
        or thread_exits
        or any(not t.daemon for t in threading.enumerate() if t is not threading.main_thread())
    ):
        sys.exit(code)
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        sys.exit(code)
    os._exit(code)
