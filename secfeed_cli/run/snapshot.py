"""One run of ``secfeed snapshot``: the backlog the feed holds now, written whole, then exit.

The order is what makes it safe from cron: the state is locked for the whole run (a second run
waits), the output is committed first and the state second, so a failure at any point can at
worst make the next run repeat filings, never lose them. No click: ``cli/`` validates the
options and hands over typed settings.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from ..common.diagnostics import stderr_is_terminal
from ..common.files import AtomicFile, State, StateError
from ..common.files import StateBusy as Busy
from ..common.settings import DetailsSettings, OutputSettings, RunSettings
from ..errors import OutputError, SecfeedError, StateBusy, closed_pipe, write_failed
from ..feed.links import ConnectOptions
from ..filtering.filters import FilingFilter
from .environment import Environment
from .execute import execute, silence_stdout
from .plan import Plan

if TYPE_CHECKING:
    from ..broker import NatsSettings
    from ..common.settings import FromArchive


#: What -o takes as standard output: ``-`` as most tools do, and the names of fd 1 (these
#: resolve through /proc to a pipe or socket that cannot be replaced by a renamed file).
STDOUT_NAMES = ("-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1")


def take_snapshot(
    connection: ConnectOptions,
    filters: FilingFilter,
    output: OutputSettings,
    run: RunSettings,
    env: Environment,
    output_path: str | None,
    state_path: str | None,
    skip_empty: bool,
    source: NatsSettings | FromArchive | None = None,
    details: DetailsSettings | None = None,
) -> int:
    """Lock and read the state, run until the backlog is complete, commit output then state."""
    assert connection.deadline is not None
    if output_path in STDOUT_NAMES:
        output_path = None  # standard output, all or nothing as ever (not a file named "-")
    seen = None if not state_path else open_state(state_path, connection.deadline)
    try:
        return _snapshot(
            connection, filters, output, run, env, output_path, seen, skip_empty, source, details
        )
    finally:
        if seen is not None:
            seen.unlock()


def _snapshot(
    connection: ConnectOptions,
    filters: FilingFilter,
    output: OutputSettings,
    run: RunSettings,
    env: Environment,
    output_path: str | None,
    seen: State | None,
    skip_empty: bool,
    source: NatsSettings | FromArchive | None,
    details: DetailsSettings | None,
) -> int:
    # From cron (stderr not a terminal) a snapshot that succeeds says nothing, unless -v.
    diag = env.diagnostics(output.quiet, output.verbose, chatty=stderr_is_terminal())
    target = AtomicFile(output_path) if output_path else None
    # To stdout, too, a snapshot is all or nothing: held in memory (a backlog is a few hundred
    # filings) and written once complete.
    held = io.BytesIO()
    out = target.file if target else held
    try:
        plan = Plan(
            connection=connection,
            filters=filters,
            output=output,
            settings=run,
            source=source,
            details=details,
            state=seen,  # saved below, once the output is committed
            pipe_may_close=False,
            chatty=diag.chatty,
        )
        code, written, already = execute(plan, out, env)
        where = output_path or "standard output"
        untouched = target is not None and written == 0 and skip_empty
        if target is not None:
            if untouched:
                target.abort()
            else:
                target.commit()
        else:
            _write_stdout(env, held.getvalue())
        if seen is not None:
            try:
                seen.save()
            except OutputError as exc:  # the output is out: at worst the next run repeats it
                raise OutputError(
                    f"wrote {written} filings to {where}, but could not save the state"
                    f" ({exc}); the next run will write them again"
                ) from None
        noun = "filing" if written == 1 else "filings"
        noun = f"new {noun}" if seen is not None else noun
        done = f"wrote {written} {noun} to {where}"
        if untouched:
            done = f"no new filings: {where} left as it was (--skip-empty)"
        diag.info(done + (f" ({already} already written)" if seen is not None else ""))
        return code
    finally:
        if target is not None:
            target.abort()


def open_state(path: str, deadline: float, size: int = 200_000) -> State:
    """The state file, locked (waiting until ``deadline``, time.monotonic()) and read."""
    state = State(path, size)
    try:
        state.lock(deadline)
        state.load()
    except StateError as exc:
        state.unlock()
        raise (StateBusy if isinstance(exc, Busy) else SecfeedError)(str(exc)) from None
    return state


def _write_stdout(env: Environment, data: bytes) -> None:
    try:
        env.write(data)
    except OSError as exc:
        silence_stdout()
        if closed_pipe(exc):
            raise OutputError("the output pipe closed before the snapshot was complete") from None
        raise write_failed(exc) from None
