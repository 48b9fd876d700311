"""Where filings go: NDJSON, CSV, JSON, the live table. Each sink consumes filings and events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import msgspec

from ..common.diagnostics import Stderr
from ..common.settings import AlertSettings, Format, OutputSettings
from ..wire.filing import Filing
from .latency import Summary


class Status(msgspec.Struct, frozen=True):
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
    received: int = 0  # filings received: a sign of life as good as a heartbeat
    skipped: int = 0  # backlog filings left out (--no-backlog)
    cause: str | None = None  # why the last attempt failed or the connection was lost
    retry_in: float | None = None  # seconds until the next attempt
    undrawn: int = 0  # filings of a burst the live table did not draw


def resolve_format(requested: Format, stdout_is_tty: bool) -> Format:
    """``auto`` is the table on a terminal and NDJSON anywhere else; the rest are as asked."""
    if requested == "auto":
        return "table" if stdout_is_tty else "ndjson"
    return requested


class Output(Protocol):
    """Where a sink writes: a binary file, or stdout's batch writer (``output/stdout.py``)."""

    def write(self, data: bytes, /) -> int: ...

    def flush(self) -> None: ...


class Counting:
    """For sinks: ``written`` counts the filings the output took. Filings given to the output
    (``_unflushed``) join the count when its flush returns, or when a signal ends the run right
    after the flush's write completed (``signals.py`` holds it until then); not when the
    write failed (a full disk)."""

    out: Output
    written: int = 0
    _unflushed: int = 0

    def _write_counting(self, data: bytes, filings: int) -> None:
        """``out.write`` of ``filings`` more (0: counted already); it may flush."""
        self._unflushed += filings
        self._guarded(self.out.write, data)

    def _flush_counting(self) -> None:
        self._guarded(self.out.flush)
        self._count()

    def _guarded(self, call: Callable[..., object], *args: bytes) -> None:
        try:
            call(*args)
        except OSError:  # what the output held is lost with the failed write
            self._unflushed = 0
            raise
        except BaseException:  # a held signal, raised once the write was whole
            self._count()
            raise

    def _count(self) -> None:
        self.written += self._unflushed
        self._unflushed = 0


class Sink(Protocol):
    @property
    def written(self) -> int:
        """Filings the output has taken so far: counted when flushed, so a write that
        fails (a full disk) is not counted and the count matches what was printed."""

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


def plain_width() -> int:
    """``-f table`` into a pipe or file: ``COLUMNS`` wide if it names a width (as ``ls`` and
    ``ps`` take it), else 160 cells; at least 40, at most 1,000."""
    import os

    text = os.environ.get("COLUMNS", "").strip()
    if text.isascii() and text.isdigit():
        return min(max(int(text), 40), 1000)
    return 160


def make_sink(
    output: OutputSettings,
    out: Output,
    status: Callable[[], Status],
    record: Callable[[str], None] | None = None,
    terminal: bool = False,
    alerts: AlertSettings | None = None,
    color: bool = False,
    stderr: Stderr | None = None,
) -> Sink:
    """The sink for ``output.fmt`` (already resolved: no ``auto``), writing to ``out``;
    ``stderr``: the command's lines, which the live table prints above its status line."""
    sink: Sink
    if output.fmt == "ndjson":
        from .lines import NdjsonSink

        sink = NdjsonSink(out, latency=output.latency, raw=output.raw)
    elif output.fmt == "csv":
        from .lines import CsvSink

        sink = CsvSink(out, latency=output.latency, details=output.details)
    elif output.fmt == "json":
        from .lines import JsonArraySink

        sink = JsonArraySink(out, latency=output.latency)
    else:
        from .table import PlainTableSink, TableSink

        if not terminal:
            sink = PlainTableSink(
                out,
                latency=output.latency,
                width=plain_width(),
                utc=output.utc,
                details=output.details,
            )
        else:
            fd = getattr(out, "fd", 1)
            sink = TableSink(
                out,
                fd,
                status,
                latency=output.latency,
                color=color,
                alerts=alerts or AlertSettings(),
                utc=output.utc,
                details=output.details,
                stderr=stderr,
            )
    if record is not None:
        sink = Recording(sink, record)
    return sink
