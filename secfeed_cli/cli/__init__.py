"""Command-line wiring: the click commands and the entry point. No protocol or rendering.

Heavy modules (rich, websockets, the emulator, apprise, nats-py) are imported inside the
commands, so ``secfeed --version`` and ``--help`` start fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from msgspec.structs import replace

from .. import __version__
from ..common.settings import (
    AlertSettings,
    DetailsSettings,
    FromArchive,
    OutputSettings,
    RunSettings,
)
from .archive import archive
from .configfile import config_option
from .connection_options import connection_options
from .details_options import demo_details_options, details_options
from .groups import environment
from .help import (
    DEMO_EXAMPLES,
    EXIT_CODES_HELP,
    RELAY_EXAMPLES,
    SNAPSHOT_EPILOG,
    SNAPSHOT_EXAMPLES,
    TAIL_EXAMPLES,
    GroupedCommand,
)
from .nats_options import relay_options, source_options
from .options import (
    alert_options,
    archive_option,
    filter_options,
    lines_option,
    output_options,
    run_options,
)
from .params import DURATION
from .serve import serve
from .tickers import tickers
from .ui import ui

if TYPE_CHECKING:
    from ..broker import NatsSettings
    from ..feed.links import ConnectOptions
    from ..filtering.filters import FilingFilter


class _Group(click.Group):
    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """None: the group's own text lists the commands, in the order they are used."""


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "-V", "--version", prog_name="secfeed")
def cli() -> None:
    """Watch SEC filings arrive in real time from the FinFeedAPI SEC WebSocket.

    \b
    secfeed tail      backlog, then every new filing: a live table, NDJSON or CSV
    secfeed ui        the same feed in an app: pause, filter as you type, details, open
    secfeed snapshot  the current backlog to a file, atomically (for cron)
    secfeed demo      tail against the built-in emulator (no key, no network)
    secfeed serve     run the emulator for offline testing
    secfeed relay     publish the feed into NATS JetStream (tail --from reads it)
    secfeed tickers   the CIK -> company/ticker map: update, info, lookup
    secfeed archive   read what --archive PATH stored: stats, query SQL, search WORDS
    """


cli.add_command(archive)
cli.add_command(serve)
cli.add_command(tickers)
cli.add_command(ui)


@cli.command(cls=GroupedCommand, examples=TAIL_EXAMPLES, epilog=EXIT_CODES_HELP)
@connection_options
@filter_options
@output_options(("auto", "table", "ndjson", "csv"), "auto", raw=True)
@run_options
@click.option(
    "--state",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Remember what was printed: a restarted tail prints only what it has not printed.",
)
@alert_options
@details_options
@source_options
def tail(
    connection: ConnectOptions,
    filters: FilingFilter,
    output: OutputSettings,
    run: RunSettings,
    state: str | None,
    alerts: AlertSettings,
    details: DetailsSettings | None,
    source: NatsSettings | FromArchive | None,
) -> int:
    """Print the backlog of recent filings, then every new filing as it is discovered."""
    _no_details_from_nats(details, source)
    _backfill_needs_archive(details, run.archive)
    return _tail(
        connection,
        filters,
        output,
        run,
        alerts,
        source,
        state,
        details,
    )


@cli.command(cls=GroupedCommand, examples=SNAPSHOT_EXAMPLES, epilog=SNAPSHOT_EPILOG)
@connection_options
@filter_options
@output_options(("ndjson", "csv", "json"), "ndjson")
@click.option(
    "-o",
    "--output",
    "output_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Write here atomically (temp file, fsync, rename); else stdout.",
)
@click.option(
    "--state",
    type=click.Path(dir_okay=False),
    help="Remember what was written; later runs write only new filings.",
)
@click.option(
    "--skip-empty",
    is_flag=True,
    help="When nothing is new, leave --output untouched instead of emptying it.",
)
@click.option(
    "--timeout",
    type=DURATION,
    default=30.0,
    show_default=True,
    metavar="S",
    help="Exit 4 when the backlog is not complete after S seconds.",
)
@lines_option
@archive_option
@details_options
@source_options
def snapshot(
    connection: ConnectOptions,
    filters: FilingFilter,
    output: OutputSettings,
    lines: int | None,
    archive: str | None,
    details: DetailsSettings | None,
    output_path: str | None,
    state: str | None,
    skip_empty: bool,
    timeout: float,
    source: NatsSettings | FromArchive | None,
) -> int:
    """Write the backlog the feed holds now (or only what is new since --state), then exit."""
    _no_details_from_nats(details, source)
    _backfill_needs_archive(details, archive)
    import os
    import time

    from ..run.snapshot import take_snapshot

    deadline = time.monotonic() + timeout  # for the whole run, the lock included
    if output_path and state and os.path.realpath(output_path) == os.path.realpath(state):
        raise click.UsageError("-o/--output and --state name the same file")
    return take_snapshot(
        replace(connection, deadline=deadline),
        filters,
        output,
        RunSettings(backlog_only=True, lines=lines, timeout=timeout, archive=archive),
        environment(),
        output_path=output_path,
        state_path=state,
        skip_empty=skip_empty,
        source=source,
        details=details,
    )


@cli.command(cls=GroupedCommand, examples=RELAY_EXAMPLES, epilog=EXIT_CODES_HELP)
@connection_options
@filter_options
@run_options
@relay_options
@details_options
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")
@click.option("-v", "--verbose", is_flag=True, help="More detail on stderr.")
def relay(
    connection: ConnectOptions,
    filters: FilingFilter,
    run: RunSettings,
    nats: NatsSettings,
    details: DetailsSettings | None,
    quiet: bool,
    verbose: bool,
) -> int:
    """Publish every filing into a NATS JetStream stream, for many consumers."""
    from ..run.execute import execute
    from ..run.plan import Plan

    _backfill_needs_archive(details, run.archive)
    plan = Plan(
        connection=connection,
        filters=filters,
        output=OutputSettings(fmt="relay", quiet=quiet, verbose=verbose),
        settings=run,
        relay=nats,
        details=details,
    )
    env = environment()
    return execute(plan, env.output(), env).code


@cli.command(cls=GroupedCommand, examples=DEMO_EXAMPLES, epilog=EXIT_CODES_HELP)
@config_option
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    default=0.8,
    show_default=True,
    help="Live filings per second from the built-in emulator.",
)
@filter_options
@output_options(("auto", "table", "ndjson", "csv"), "auto", raw=True)
@run_options
@alert_options
@demo_details_options
@click.option(
    "--ui", "in_ui", is_flag=True, help="Show it in `secfeed ui` (keys: ?), not the table."
)
def demo(
    rate: float,
    filters: FilingFilter,
    output: OutputSettings,
    run: RunSettings,
    alerts: AlertSettings,
    details: DetailsSettings | None,
    in_ui: bool,
) -> int:
    """Run `tail` (or `ui`) against the built-in emulator with real sample filings."""
    from ..emulator.runner import EmulatorThread
    from ..emulator.server import EmulatorConfig
    from ..feed.links import ConnectOptions

    runner = EmulatorThread(EmulatorConfig(rate=rate, edgar=details is not None))
    emulator = runner.start()
    try:
        connection = ConnectOptions(url=emulator.url, max_retries=3)
        if details is not None:  # the emulator's EDGAR: nothing leaves this machine
            edgar_url = emulator.url.replace("ws://", "http://", 1)
            details = replace(details, edgar_url=edgar_url)
        if in_ui:
            from ..ui.main import run_ui
            from .ui import terminal_ready

            terminal_ready()
            return run_ui(connection, filters, run, environment(), details, utc=output.utc)
        return _tail(connection, filters, output, run, alerts, details=details)
    finally:
        runner.stop()


# ---- running ------------------------------------------------------------------------------


def _backfill_needs_archive(details: DetailsSettings | None, archive: str | None) -> None:
    if details is not None and details.backfill and archive is None:
        raise click.UsageError("--backfill fills a gap in an archive: it goes with --archive PATH")


def _no_details_from_nats(
    details: DetailsSettings | None, source: NatsSettings | FromArchive | None
) -> None:
    enriching = details is not None and details.enrich
    if enriching and source is not None and not isinstance(source, FromArchive):
        raise click.UsageError(
            "--details and --from nats:// exclude each other: run the relay with --details, and its"
            " stream carries them (one relay spends the SEC budget for every consumer)"
        )


def _tail(
    connection: ConnectOptions,
    filters: FilingFilter,
    output: OutputSettings,
    run: RunSettings,
    alerts: AlertSettings,
    source: NatsSettings | FromArchive | None = None,
    state_path: str | None = None,
    details: DetailsSettings | None = None,
) -> int:
    from ..output import resolve_format
    from ..run.execute import execute
    from ..run.plan import Plan

    env = environment()
    output = replace(output, fmt=resolve_format(output.fmt, env.isatty()))
    if output.raw and output.fmt != "ndjson":
        raise click.UsageError("--raw goes with NDJSON output (-f ndjson, or a pipe)")
    if (alerts.bell or alerts.highlight) and not (output.fmt == "table" and env.isatty()):
        env.warnings.append("--bell and --highlight act on the live table only (a terminal)")
    state = None
    if state_path is not None:  # files.py imports tempfile (and random): only when needed
        import time

        from ..run.snapshot import open_state

        state = open_state(state_path, time.monotonic(), TAIL_STATE)
    plan = Plan(
        connection=connection,
        filters=filters,
        output=output,
        settings=run,
        source=source,
        details=details,
        alerts=alerts,
        state=state,
        checkpoint=True,
        terminal=env.isatty(),
        color=env.stdout_color(),
    )
    try:
        return execute(plan, env.output(), env).code
    finally:
        if state is not None:
            state.unlock()


#: tail --state remembers the newest 50,000 filings printed (1.2 MB): more than a week of EDGAR
#: filings, as a `--from nats://` backlog can hold; it is saved up to once a second.
TAIL_STATE = 50_000


from .entry import entry, leave, main  # noqa: E402 - they run the group above

__all__ = ["cli", "entry", "leave", "main"]
