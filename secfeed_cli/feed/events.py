"""What the stream tells its caller: events, in order, and the counters the status line reads.

No I/O: plain records. ``stream.py`` yields them; ``run/loop.py`` turns them into output and
diagnostics. Records here and throughout secfeed are msgspec Structs rather than dataclasses:
a Struct class is made in C, a dataclass by compiling generated methods (~0.7 ms each, 26 of
them on every start of ``tail``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import msgspec

from ..wire.filing import Filing


class NewFilings(msgspec.Struct):
    """Filings not delivered before, in order, from one socket read."""

    filings: list[Filing]
    received: float  # time.time() when their bytes were read


class BacklogComplete(msgspec.Struct, frozen=True):
    initial: bool  # the first connection's backlog (what --backlog-only waits for)
    new: int  # backlog filings not seen before
    overlap: int  # backlog filings already printed (replayed after a reconnect)


class Connected(msgspec.Struct, frozen=True):
    conn: int
    host: str


class Disconnected(msgspec.Struct, frozen=True):
    conn: int
    reason: str
    retry_in: float | None  # None when no reconnect follows


class Malformed(msgspec.Struct, frozen=True):
    kind: str
    reason: str


class Notice(msgspec.Struct, frozen=True):
    """A diagnostic for stderr. ``key`` set: show once per run. ``verbose``: only with -v."""

    text: str
    key: str | None = None
    verbose: bool = False
    level: str = "warning"


class Idle(msgspec.Struct, frozen=True):
    """Nothing arrived for a while; lets the caller check its clock."""


Event = NewFilings | BacklogComplete | Connected | Disconnected | Malformed | Notice | Idle
CAUGHT_UP = Idle()


class Stats(msgspec.Struct):
    """Counters the status line and the exit summary read (written by the events thread)."""

    host: str = ""
    state: str = "connecting"
    received: int = 0
    duplicates: int = 0
    malformed: int = 0
    backlog_complete: bool = False
    last_heartbeat: float | None = None  # time.monotonic()
    lagging: bool = False
    cause: str | None = None  # why the last attempt failed / the connection ended, in words
    retry_at: float | None = None  # time.monotonic() of the next attempt
    connections: int = 0  # opened so far
    frames: int = 0  # -v: frames and bytes read over the connections that ended
    bytes: int = 0


class Source(Protocol):
    """Where a run's filings come from: the FinFeedAPI stream (``stream.Stream``) or a NATS
    JetStream stream (``broker.source.NatsSource``)."""

    stats: Stats
    last_cause: str  # what was going on, for a run that gives up at its deadline

    @property
    def heartbeat(self) -> bool: ...

    @property
    def deadline(self) -> float | None: ...

    def events(self) -> Iterator[Event]: ...

    def unconsumed(self, filings: list[Filing]) -> None:
        """The run stopped before these (``--count``): they were not shown."""

    def handled(self) -> None:
        """The run has finished with the filings of the last event: what it shows of them is
        in its output (a signal cannot come in between: the run holds signals meanwhile)."""

    def close(self, settled: bool = False) -> None:
        """The run ends; ``settled``: its output was flushed, so what it handled is out."""
