"""Line-oriented sinks for pipes and files: NDJSON (one object per line) and CSV (RFC 4180)."""

from __future__ import annotations

import csv
import io
from typing import BinaryIO

import orjson

from ..protocol import Filing
from ..records import COLUMNS, LATENCY_COLUMNS, to_record


class NdjsonSink:
    """One JSON object per line in the stable key order, UTF-8.

    Lines are flushed as soon as everything read from the socket so far has been handled
    (:meth:`flush` on each caught-up event), so no line waits for more input; a burst of
    filings from one read becomes one write. With ``raw``, each filing frame is written
    exactly as received instead.
    """

    def __init__(self, out: BinaryIO, latency: bool = False, raw: bool = False) -> None:
        self.out = out
        self.latency = latency
        self.raw = raw
        self.written = 0

    def filing(self, filing: Filing, raw: bytes, received: float) -> None:
        if self.raw:
            line = raw + b"\n"
        else:
            record = to_record(filing, received if self.latency else None)
            line = orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
        self.written += 1
        self.out.write(line)

    def backlog_complete(self) -> None:
        pass

    def flush(self) -> None:
        self.out.flush()

    def close(self) -> None:
        self.out.flush()


class CsvSink:
    """A header row, then one row per filing with the NDJSON columns (extra fields left out)."""

    def __init__(self, out: BinaryIO, latency: bool = False, header: bool = True) -> None:
        self.out = out
        self.latency = latency
        self.columns = COLUMNS + (LATENCY_COLUMNS if latency else ())
        self._text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
        self._writer = csv.writer(self._text)
        self._header = header
        self.written = 0

    def _emit(self, row: list[object], filing: bool = True) -> None:
        if filing:
            self.written += 1
        self._writer.writerow(row)

    def filing(self, filing: Filing, raw: bytes, received: float) -> None:
        if self._header:
            self._header = False
            self._emit(list(self.columns), filing=False)
        record = to_record(filing, received if self.latency else None)
        self._emit([_cell(record.get(c)) for c in self.columns])

    def backlog_complete(self) -> None:
        pass

    def flush(self) -> None:
        self.out.flush()

    def close(self) -> None:
        if self._header:  # no filing came: still a valid CSV with its header
            self._header = False
            self._emit(list(self.columns), filing=False)
        self.out.flush()
        self._text.detach()  # leave `out` open for its owner


def _cell(value: object) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


class JsonArraySink:
    """One JSON array of the NDJSON objects (for snapshots); valid even when empty."""

    def __init__(self, out: BinaryIO, latency: bool = False) -> None:
        self.out = out
        self.latency = latency
        self.written = 0

    def filing(self, filing: Filing, raw: bytes, received: float) -> None:
        record = to_record(filing, received if self.latency else None)
        text = orjson.dumps(record)
        lead = b"[\n" if self.written == 0 else b",\n"
        self.written += 1
        self.out.write(lead + text)

    def backlog_complete(self) -> None:
        pass

    def flush(self) -> None:
        self.out.flush()

    def close(self) -> None:
        self.out.write(b"[]\n" if self.written == 0 else b"\n]\n")
        self.out.flush()
