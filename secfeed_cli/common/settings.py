"""What a run is asked to do, typed: built once by each command from its options. Pure.

Connection settings are :class:`feed.links.ConnectOptions` (built by
``cli/connection_options.py``) and filters are :class:`filtering.filters.FilingFilter`; these
are the rest.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

import msgspec

#: --settle's default: without heartbeats, the quiet seconds that end a backlog.
SETTLE = 2.0

#: What a run writes: ``-f``'s choices (``auto`` is resolved before the run), and the relay's
#: and the ui's own sinks.
Format = Literal["auto", "table", "ndjson", "csv", "json", "relay", "ui"]
FORMATS: tuple[Format, ...] = get_args(Format)


def output_format(name: str) -> Format:
    """``name`` as a :data:`Format` (``-f``'s choice is one already); ValueError if not."""
    for known in FORMATS:
        if name == known:
            return known
    raise ValueError(f"not an output format: {name!r}")


class OutputSettings(msgspec.Struct, frozen=True):
    fmt: Format = "ndjson"
    latency: bool = False
    quiet: bool = False
    verbose: bool = False
    raw: bool = False  # NDJSON: frames as received
    utc: bool = False  # the table's times in UTC, not local time
    details: bool = False  # --details: a details column (table), details columns (CSV)


class RunSettings(msgspec.Struct, frozen=True):
    backlog: bool = True  # False: --no-backlog
    backlog_only: bool = False
    count: int | None = None
    lines: int | None = None  # -n: the newest N backlog filings (None: all of them)
    duration: float | None = None
    settle: float = SETTLE  # without heartbeats: quiet seconds that end the backlog
    #: snapshot --timeout, named when the run gives up at the connection's deadline (exit 4)
    timeout: float | None = None
    archive: str | None = None  # --archive: every filing received is stored here (SQLite)


class FromArchive(msgspec.Struct, frozen=True):
    """``--from PATH``: read an archive as the source, then follow what is appended."""

    path: str


#: The most hooks that may run at once (--exec-jobs): each is a thread and a process group.
MAX_EXEC_JOBS = 64


class AlertSettings(msgspec.Struct, frozen=True):
    """What to do for each filing shown (tail and demo): hooks, notifications, the bell."""

    exec_commands: tuple[str, ...] = ()
    exec_jobs: int = 4
    exec_timeout: float = 30.0
    exit_grace: float = 2.0  # at exit, hooks and notifications at work get this long
    notify_urls: tuple[str, ...] = ()
    notify_timeout: float = 10.0  # the total deadline of one attempt to send
    bell: bool = False
    highlight: tuple[str, ...] = ()  # regular expressions, case-insensitive
    backlog: bool = False  # --alert-backlog: backlog filings too

    @property
    def active(self) -> bool:
        return bool(self.exec_commands or self.notify_urls)


class DetailsSettings(msgspec.Struct, frozen=True):
    """``--details``: what the filing says, from EDGAR (``details/``)."""

    user_agent: str  # "Name email", as SEC requires
    edgar_url: str = "https://www.sec.gov"
    rate: float = 5.0  # EDGAR requests a second, at most (SEC allows 10)
    #: How long a filing waits for its details; None: the output's default (LIVE_WAIT in
    #: the live table and the ui, else until they are in)
    wait: float | None = None
    cache: str | None = None  # where fetched documents are kept (None: not kept)
    #: --item, --insider-code, --min-value, --sic (details/criteria.py's DetailFilter)
    criteria: Any = None
    enrich: bool = True  # --details (False: only --backfill reads EDGAR)
    text: bool = False  # --text: an 8-K's words (details/text.py)
    text_full: bool = False  # --text-full: the whole text of each item and exhibit
    #: --grep (with -i, -w): filings whose words or description match (filtering/grep.py)
    grep: Any = None
    backfill: bool = False  # --backfill: a gap in the archive is filled from EDGAR's indexes
