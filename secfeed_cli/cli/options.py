"""The option groups shared by `tail`, `snapshot`, `demo` and `relay`: filters, output, run
limits and alerts (the connection's, the config file's and NATS's have modules of their own).

Validation happens here, before any connection is made: a bad form pattern, CIK or count is a
usage error (exit 2). Each group hands the command one typed object (``groups.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from ..common.settings import (
    MAX_EXEC_JOBS,
    AlertSettings,
    OutputSettings,
    RunSettings,
    output_format,
)
from .groups import Built, F, environment, option_group
from .params import (
    DURATION,
    Cik,
    FormatOption,
    FormPattern,
    TickerList,
    When,
)

if TYPE_CHECKING:
    from datetime import datetime

    from ..filtering.filters import FilingFilter


def filter_options(f: F) -> F:
    return option_group(
        "filters",
        _filters,
        [
            click.option(
                "--form",
                "forms",
                type=FormPattern(),
                multiple=True,
                help="Only these forms: repeatable, comma-separated, case-insensitive"
                " globs (8-K, '10-K*'). An amendment matches its base form.",
            ),
            click.option(
                "--exclude-form",
                "exclude_forms",
                type=FormPattern(),
                multiple=True,
                help="Leave out these forms (same rules as --form).",
            ),
            click.option(
                "--cik",
                "ciks",
                type=Cik(),
                multiple=True,
                help="Only filings of this CIK (repeatable; leading zeros allowed).",
            ),
            click.option(
                "--ticker",
                "tickers",
                type=TickerList(),
                multiple=True,
                help="Only filings of the CIKs SEC maps this ticker to (repeatable,"
                " comma-separated, case-insensitive).",
            ),
            click.option(
                "--watchlist",
                type=click.Path(dir_okay=False),
                metavar="FILE",
                help="Only filings of these: one ticker or CIK per line, # comments.",
            ),
            click.option(
                "--no-amendments",
                is_flag=True,
                help="A pattern matches amendments (/A) only if it matches them itself.",
            ),
            click.option(
                "--since",
                type=When(),
                help="Only filings discovered at or after WHEN: an age (15m, 2h, 1d), a date"
                " (local midnight) or a time (2026-12-03T14:30, local; or with Z or an offset).",
            ),
        ],
    )(f)


def _filters(
    forms: tuple[str, ...],
    exclude_forms: tuple[str, ...],
    ciks: tuple[int, ...],
    tickers: tuple[str, ...],
    watchlist: str | None,
    no_amendments: bool,
    since: datetime | None = None,
) -> Built[FilingFilter]:
    from ..filtering import formcheck
    from ..filtering.filters import FilingFilter, split_patterns
    from ..filtering.watchlist import WatchlistError, read_watchlist, resolve_tickers

    include, exclude = split_patterns(forms), split_patterns(exclude_forms)
    warnings = list(formcheck.check(dict.fromkeys(include + exclude)))
    wanted = set(ciks)
    # The map loads here when a ticker is asked for, before the run's diagnostics exist: what
    # it warns of (a corrupt cached copy) waits with the other warnings, said when it starts.
    try:
        wanted |= resolve_tickers(split_patterns(tickers), warn=warnings.append)
        if watchlist is not None:
            wanted |= read_watchlist(watchlist, warnings.append)
    except WatchlistError as exc:
        raise click.UsageError(str(exc)) from None
    made = FilingFilter(
        forms=tuple(include),
        exclude=tuple(exclude),
        ciks=frozenset(wanted),
        amendments=not no_amendments,
        since=since,
    )
    return Built(made, warnings)


def output_options(formats: tuple[str, ...], default: str, raw: bool = False) -> Callable[[F], F]:
    """-f and its kin; ``--utc`` where the table is a format, ``--raw`` where asked."""
    table = [
        click.option(
            "--utc", is_flag=True, help="Table: times in UTC, not this machine's local time."
        )
    ]
    frames = [
        click.option(
            "--raw", is_flag=True, help="NDJSON: print each filing frame exactly as received."
        )
    ]
    return option_group(
        "output",
        _output,
        [
            click.option(
                "-f",
                "--format",
                "fmt",
                type=click.Choice(formats),
                default=default,
                show_default=True,
                cls=FormatOption,
                envvar="SECFEED_FORMAT",
                show_envvar=True,
                help="auto: the table on a terminal, NDJSON otherwise."
                if "auto" in formats
                else "Output format.",
            ),
            click.option(
                "--latency",
                is_flag=True,
                help="Add receive time and latency (receive - discovered_time).",
            ),
            *(table if "table" in formats else []),
            click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr."),
            click.option("-v", "--verbose", is_flag=True, help="More detail on stderr."),
            *(frames if raw else []),
        ],
    )


def _output(
    fmt: str, latency: bool, quiet: bool, verbose: bool, raw: bool = False, utc: bool = False
) -> OutputSettings:
    return OutputSettings(
        fmt=output_format(fmt), latency=latency, quiet=quiet, verbose=verbose, raw=raw, utc=utc
    )


def run_options(f: F) -> F:
    return option_group(
        "run",
        _run_settings,
        [
            click.option("--no-backlog", is_flag=True, help="Print live filings only."),
            click.option(
                "--backlog-only",
                is_flag=True,
                help="Print the backlog and exit 0 once it is complete.",
            ),
            lines_option,
            click.option(
                "--count",
                type=click.IntRange(min=0),
                metavar="N",
                help="Exit 0 after N printed filings.",
            ),
            click.option("--duration", type=DURATION, metavar="S", help="Exit 0 after S seconds."),
            click.option(
                "--settle",
                type=DURATION,
                default=2.0,
                show_default=True,
                metavar="S",
                help="Without heartbeats: the backlog is complete after S quiet seconds.",
            ),
            archive_option,
        ],
    )(f)


def archive_option(f: F) -> F:
    return click.option(
        "--archive",
        type=click.Path(dir_okay=False),
        metavar="PATH",
        help="Store every filing received (before the filters) in this SQLite archive,"
        " exactly once across runs.",
    )(f)


def lines_option(f: F) -> F:
    return click.option(
        "-n",
        "--lines",
        type=click.IntRange(min=0),
        metavar="N",
        help="Of the backlog, only the newest N filings that pass the filters (0: none).",
    )(f)


def _run_settings(
    no_backlog: bool,
    backlog_only: bool,
    lines: int | None,
    count: int | None,
    duration: float | None,
    settle: float,
    archive: str | None,
) -> RunSettings:
    if backlog_only and no_backlog:
        raise click.UsageError("--backlog-only and --no-backlog exclude each other")
    if lines is not None and no_backlog:
        raise click.UsageError("-n/--lines and --no-backlog exclude each other (-n 0 is none)")
    return RunSettings(
        backlog=not no_backlog,
        backlog_only=backlog_only,
        lines=lines,
        count=count,
        duration=duration,
        settle=settle,
        archive=archive,
    )


def alert_options(f: F) -> F:
    return option_group(
        "alerts",
        _alerts,
        [
            click.option(
                "--exec",
                "exec_commands",
                multiple=True,
                metavar="CMD",
                help="Run CMD through the shell for each filing shown: its NDJSON line on"
                " stdin, its fields in SECFEED_* variables (repeatable).",
            ),
            click.option(
                "--exec-jobs",
                type=click.IntRange(1, MAX_EXEC_JOBS),
                default=4,
                show_default=True,
                metavar="N",
                help="Hooks running at once (1: one at a time, in filing order; at most 64).",
            ),
            click.option(
                "--exec-timeout",
                type=DURATION,
                default=30.0,
                show_default=True,
                metavar="S",
                help="Kill a hook (and what it started) after S seconds.",
            ),
            click.option(
                "--exit-grace",
                type=DURATION,
                default=2.0,
                show_default=True,
                metavar="S",
                help="At exit, hooks and notifications still at work get S seconds to finish;"
                " then they are stopped (and counted).",
            ),
            click.option(
                "--notify",
                "notify_urls",
                multiple=True,
                metavar="URL",
                help="Send each burst of filings to this apprise URL (slack://, ntfy://,"
                " json://, ...; needs secfeed-cli[notify]; repeatable).",
            ),
            click.option(
                "--notify-timeout",
                type=DURATION,
                default=10.0,
                show_default=True,
                metavar="S",
                help="Give up on one attempt to send a notification after S seconds in all.",
            ),
            click.option(
                "--bell", is_flag=True, help="Live table: ring the terminal bell for new filings."
            ),
            click.option(
                "--highlight",
                multiple=True,
                metavar="REGEX",
                help="Live table: mark rows whose form, company, ticker or description match"
                " (case-insensitive, repeatable).",
            ),
            click.option(
                "--alert-backlog",
                is_flag=True,
                help="Hooks, notifications and the bell for backlog filings too.",
            ),
        ],
    )(f)


def _alerts(
    exec_commands: tuple[str, ...],
    exec_jobs: int,
    exec_timeout: float,
    exit_grace: float,
    notify_urls: tuple[str, ...],
    notify_timeout: float,
    bell: bool,
    highlight: tuple[str, ...],
    alert_backlog: bool,
) -> AlertSettings:
    import re

    for pattern in highlight:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise click.UsageError(
                f"--highlight {pattern!r} is not a regular expression: {exc}"
            ) from None
    if notify_urls:
        from ..alerts.notify import NotifyUnavailable, services

        try:
            # apprise installed, and every URL one it knows; their secrets are the command's
            services(notify_urls, environment().secrets)
        except (NotifyUnavailable, ValueError) as exc:
            raise click.UsageError(str(exc)) from None
    return AlertSettings(
        exec_commands=exec_commands,
        exec_jobs=exec_jobs,
        exec_timeout=exec_timeout,
        exit_grace=exit_grace,
        notify_urls=notify_urls,
        notify_timeout=notify_timeout,
        bell=bell,
        highlight=highlight,
        backlog=alert_backlog,
    )
