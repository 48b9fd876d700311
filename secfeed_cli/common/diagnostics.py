"""Diagnostics on stderr: status, warnings and errors, never on stdout.

Plain lines, with the ``secfeed:`` prefix coloured by ANSI codes when stderr is a terminal (see
:func:`use_color` for NO_COLOR, FORCE_COLOR and TERM). No rich here: importing it would add
~20 ms to every run's start-up for three colours.

Where a command's lines go is its :class:`Stderr`, which the command's Environment holds and
every :class:`Diagnostics` of the command shares: the secrets masked in them, the ui's
``capture`` while it owns the terminal, and, while the live table (or the relay's status line)
draws, its ``above`` hook, which prints a line above the status line; a line for elsewhere
(``2>log``) goes straight there.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import TextIO

from .escape import escape_control
from .redact import Secrets

# SGR parameters of each level's prefix.
DIM, YELLOW, BOLD_RED = "2", "33", "1;31"


def use_color(stream: object, env: Mapping[str, str] | None = None) -> bool:
    """Colour for a terminal, as rich decides for the table: NO_COLOR (https://no-color.org)
    says no, FORCE_COLOR says yes even off a terminal, TERM=dumb says no."""
    env = os.environ if env is None else env
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    return env.get("TERM") != "dumb" and is_terminal(stream)


def stderr_is_terminal() -> bool:
    return is_terminal(sys.stderr)


def is_terminal(stream: object) -> bool:
    """Whether ``stream`` is a terminal (a closed or missing one is not)."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed
        return False


def write_terminal(fd: int, text: str) -> None:
    """Write ``text`` whole to the terminal ``fd``, from any thread (a status line's redraw);
    a terminal that is gone is left to whoever finds out next."""
    data = memoryview(text.encode("utf-8", "replace"))
    try:
        while data:
            data = data[os.write(fd, data) :]
    except OSError:
        pass


class Stderr:
    """Where one command's lines go, shared by all its :class:`Diagnostics`.

    ``secrets``: masked in every line; ``capture``: takes every line (plain text) instead of
    stderr (``secfeed ui`` while it owns the terminal); ``err``: the stream (None: this
    process's stderr, as it is at the time of writing). :attr:`above` is set by the live
    table, or the relay's status line, while it draws."""

    def __init__(
        self,
        secrets: Secrets | None = None,
        capture: Callable[[str], None] | None = None,
        err: TextIO | None = None,
    ) -> None:
        self.secrets = Secrets() if secrets is None else secrets
        self.capture = capture
        self.err = err
        #: Writes a whole line to the terminal above a status line (None: no status line).
        self.above: Callable[[str], None] | None = None

    def stream(self) -> TextIO | None:
        return self.err if self.err is not None else sys.stderr


class Diagnostics:
    """``quiet`` keeps only errors; ``verbose`` adds detail. ``once`` keys show a line once.

    ``chatty=False`` keeps information lines for ``verbose`` alone (warnings and errors still
    show): a snapshot from cron is silent when all is well, since cron mails any output."""

    def __init__(
        self,
        quiet: bool = False,
        verbose: bool = False,
        chatty: bool = True,
        stderr: Stderr | None = None,
    ) -> None:
        self.quiet = quiet
        self.verbose = verbose
        self.chatty = chatty
        self.stderr = Stderr() if stderr is None else stderr
        self._shown: set[str] = set()

    def _say(self, sgr: str, prefix: str, text: str) -> None:
        route = self.stderr
        err, capture = route.stream(), route.capture
        text = escape_control(route.secrets.redact(text))  # the one way out to stderr
        if capture is not None:
            capture(f"{prefix}{text}")
            return
        if err is None:  # started with stderr closed
            return
        if use_color(err):
            line = f"\x1b[{sgr}msecfeed: {prefix}\x1b[0m{text}\n"
        else:
            line = f"secfeed: {prefix}{text}\n"
        self._line(err, line)

    def echo(self, text: str) -> None:
        """A line of someone else's output (an --exec hook's), shown as it is but for control
        characters and secrets, by the same way as secfeed's own lines; never kept quiet."""
        route = self.stderr
        err = route.stream()
        line = escape_control(route.secrets.redact(text))
        if route.capture is not None:
            route.capture(line)
        elif err is not None:
            self._line(err, line + "\n")

    def _line(self, err: TextIO, line: str) -> None:
        try:
            above = self.stderr.above
            if above is not None and is_terminal(err):
                above(line)
                return
            err.write(line)
            err.flush()
        except (OSError, ValueError):  # stderr gone: nowhere left to say it
            pass

    def info(self, text: str, verbose: bool = False, once: str | None = None) -> None:
        verbose = verbose or not self.chatty
        if self.quiet or (verbose and not self.verbose) or self._seen(once):
            return
        self._say(DIM, "", text)

    def warn(self, text: str, verbose: bool = False, once: str | None = None) -> None:
        if self.quiet or (verbose and not self.verbose) or self._seen(once):
            return
        self._say(YELLOW, "warning: ", text)

    def error(self, text: str) -> None:
        self._say(BOLD_RED, "error: ", text)

    def _seen(self, key: str | None) -> bool:
        if key is None:
            return False
        if key in self._shown:
            return True
        self._shown.add(key)
        return False
