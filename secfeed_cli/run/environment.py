"""What a command touches outside itself: where data goes and whether that is a terminal.

As in httpie (``Environment``): the real one writes to this process's stdout in whole batches;
a test passes its own through click's context object (``CliRunner().invoke(cli, args,
obj=Environment(stdout=io.BytesIO(), stdout_isatty=False))``) and runs a command in-process,
in milliseconds, instead of in a subprocess. Everything else (option values, environment
variables, the config file) already goes through click.
"""

from __future__ import annotations

import sys

import msgspec

from ..output import Output


class Environment(msgspec.Struct):
    stdout: Output | None = None  # None: the process's stdout
    stdout_isatty: bool | None = None  # None: ask the process's stdout

    def output(self) -> Output:
        """Where data goes: the given output, or stdout written in whole batches of lines."""
        if self.stdout is not None:
            return self.stdout
        from ..output.stdout import StdoutLines, widen_pipe

        sys.stdout.flush()
        widen_pipe(sys.stdout.fileno())
        return StdoutLines(sys.stdout.fileno())

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
