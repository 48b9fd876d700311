"""Where filings go: NDJSON, CSV, JSON, the live table. Each sink consumes filings and events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..filing import Filing
from ..latency import Summary

FORMATS = ("auto", "table", "ndjson", "csv")


@dataclass(frozen=True)
class Status:
    """What the table's status line shows; the app builds one per repaint."""

    state: str
    host: str
    shown: int
    filtered: int
    malformed: int
    backlog_complete: bool
    heartbeat_age: float | None  # seconds since the last heartbeat; None: none yet / off
    heartbeat_on: bool
    latency: Summary


def resolve_format(requested: str, stdout_is_tty: bool) -> str:
    """``auto`` is the table on a terminal and NDJSON anywhere else; the rest are as asked."""
    if requested == "auto":
        return "table" if stdout_is_tty else "ndjson"
    return requested


class Sink(Protocol):
    #: Filings written so far, counted right next to the write: a signal that interrupts a
    #: flush leaves the line buffered for ``close``, so the count matches what is printed.
    written: int

    def filings(self, filings: list[Filing], received: float) -> None:
        """Show filings, in order; ``received`` is the time.time() their bytes were read."""

    def backlog_complete(self) -> None:
        """The backlog ended here; live filings follow."""

    def flush(self) -> None:
        """Nothing more is waiting: push out whatever is buffered."""

    def close(self) -> None:
        """The run ends."""


class Recording:
    """A sink wrapper that reports each written filing's accession (for the snapshot state)."""

    def __init__(self, inner: Sink, record: Callable[[str], None]) -> None:
        self.inner = inner
        self.record = record

    @property
    def written(self) -> int:
        return self.inner.written

    def filings(self, filings: list[Filing], received: float) -> None:
        self.inner.filings(filings, received)
        for filing in filings:
            self.record(filing.accession_no)

    def backlog_complete(self) -> None:
        self.inner.backlog_complete()

    def flush(self) -> None:
        self.inner.flush()

    def close(self) -> None:
        self.inner.close()
