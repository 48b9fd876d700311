"""Where filings go: NDJSON, CSV, JSON, the live table. Each sink consumes filings and events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..filing import Filing
from ..latency import Summary
from ..settings import OutputSettings

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


class Output(Protocol):
    """Where a sink writes: a binary file, or stdout's batch writer (``sinks/stdout.py``)."""

    def write(self, data: bytes, /) -> int: ...

    def flush(self) -> None: ...


class Sink(Protocol):
    @property
    def written(self) -> int:
        """Filings written so far, counted right next to the write, so the count matches
        what is printed."""

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


def make_sink(
    output: OutputSettings,
    out: Output,
    status: Callable[[], Status],
    record: Callable[[str], None] | None = None,
    terminal: bool = False,
) -> Sink:
    """The sink for ``output.fmt`` (already resolved: no ``auto``), writing to ``out``."""
    sink: Sink
    if output.fmt == "ndjson":
        from .lines import NdjsonSink

        sink = NdjsonSink(out, latency=output.latency, raw=output.raw)
    elif output.fmt == "csv":
        from .lines import CsvSink

        sink = CsvSink(out, latency=output.latency)
    elif output.fmt == "json":
        from .lines import JsonArraySink

        sink = JsonArraySink(out, latency=output.latency)
    else:
        from .table import PlainTableSink, TableSink, table_console

        if not terminal:
            sink = PlainTableSink(out, latency=output.latency)
        else:
            sink = TableSink(table_console(), status, latency=output.latency)
    if record is not None:
        sink = Recording(sink, record)
    return sink
