"""What a command touches outside itself: where data goes and whether that is a terminal.

As in httpie (``Environment``): the real one writes to this process's stdout in whole batches;
a test passes its own through click's context object (``CliRunner().invoke(cli, args,
obj=Environment(stdout=io.BytesIO(), stdout_isatty=False))``) and runs a command in-process,
in milliseconds, instead of in a subprocess. Everything else (option values, environment
variables, the config file) already goes through click.

What one command run gathers lives here too, not in module globals: its secrets (masked in
everything printed), the warnings found while its options were read (said when the run
starts), where its diagnostics go (:class:`Stderr`), and whether its stdout gets colour. A
test running commands one after another in one process starts each from nothing, as each has
an Environment of its own.
"""

from __future__ import annotations

import sys

import msgspec

from ..common.diagnostics import Diagnostics, Stderr
from ..common.redact import Secrets
from ..output import Output


class Environment(msgspec.Struct):
    stdout: Output | None = None  # None: the process's stdout
    stdout_isatty: bool | None = None  # None: ask the process's stdout
    #: Warnings found while the options were read, said when the run starts.
    warnings: list[str] = msgspec.field(default_factory=list)
    #: Colour on stdout (the live table): None lets NO_COLOR, FORCE_COLOR, TERM and whether
    #: stdout is a terminal decide, as rich does.
    color: bool | None = None

    #: Where the command's lines on stderr go, with the secrets they are masked with.
    stderr: Stderr = msgspec.field(default_factory=Stderr)

    @property
    def secrets(self) -> Secrets:
        """The command's secrets: its options add what they read."""
        return self.stderr.secrets

    def diagnostics(
        self, quiet: bool = False, verbose: bool = False, chatty: bool = True
    ) -> Diagnostics:
        """Lines on stderr for this command: its secrets masked, by its route."""
        return Diagnostics(quiet, verbose, chatty, stderr=self.stderr)

    def output(self) -> Output:
        """Where data goes: the given output, or stdout written in whole batches of lines."""
        if self.stdout is not None:
            return self.stdout
        from ..output.stdout import StdoutLines, widen_pipe

        sys.stdout.flush()
        widen_pipe(sys.stdout.fileno())
        return StdoutLines(sys.stdout.fileno())

    def stdout_color(self) -> bool:
        if self.color is not None:
            return self.color
        from ..common.diagnostics import use_color

        return use_color(sys.stdout)

    def isatty(self) -> bool:
        if self.stdout_isatty is not None:
            return self.stdout_isatty
        try:
            return sys.stdout.isatty()
        except ValueError:  # closed
            return False

    def write(self, data: bytes) -> None:
        """Write a whole document (a snapshot) to stdout and flush it."""
        out = self.output()
        out.write(data)
        out.flush()
