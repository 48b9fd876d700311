"""Diagnostics on stderr: status, warnings and errors, never on stdout."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..redact import redact
from .text import escape_control

if TYPE_CHECKING:
    from rich.console import Console


class Diagnostics:
    """``quiet`` keeps only errors; ``verbose`` adds detail. ``once`` keys show a line once."""

    def __init__(
        self, quiet: bool = False, verbose: bool = False, secret: str | None = None
    ) -> None:
        self._console: Console | None = None
        self.quiet = quiet
        self.verbose = verbose
        self.secret = secret
        self._shown: set[str] = set()

    @property
    def console(self) -> Console:
        """Made on first use: a quiet run never imports rich (start-up time)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=True, highlight=False, soft_wrap=True)
        return self._console

    def _say(self, style: str, prefix: str, text: str) -> None:
        from rich.markup import escape

        text = redact(text, self.secret)
        self.console.print(f"[{style}]secfeed: {prefix}[/]{escape(escape_control(text))}")

    def info(self, text: str, verbose: bool = False, once: str | None = None) -> None:
        if self.quiet or (verbose and not self.verbose) or self._seen(once):
            return
        self._say("dim", "", text)

    def warn(self, text: str, verbose: bool = False, once: str | None = None) -> None:
        if self.quiet or (verbose and not self.verbose) or self._seen(once):
            return
        self._say("yellow", "warning: ", text)

    def error(self, text: str) -> None:
        self._say("bold red", "error: ", text)

    def _seen(self, key: str | None) -> bool:
        if key is None:
            return False
        if key in self._shown:
            return True
        self._shown.add(key)
        return False
