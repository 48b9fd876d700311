"""Line-oriented sinks for pipes and files: NDJSON (one object per line) and CSV (RFC 4180)."""

from __future__ import annotations

import csv
import io
import json
from typing import BinaryIO

from ..protocol import Filing
from ..records import COLUMNS, LATENCY_COLUMNS, to_record


class NdjsonSink:
    """One JSON object per line in the stable key order, UTF-8, flushed as lines are complete.

    With ``raw``, each filing frame is written exactly as received instead.
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
            line = json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n"
        self.written += 1
        self.out.write(line)
        self.out.flush()

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
        self._text = io.StringIO()
        self._writer = csv.writer(self._text)
        self._header = header
        self.written = 0

    def _emit(self, row: list[object], filing: bool = True) -> None:
        self._writer.writerow(row)
        data = self._text.getvalue().encode("utf-8")
        if filing:
            self.written += 1
        self.out.write(data)
        self._text.seek(0)
        self._text.truncate()
        self.out.flush()

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
        text = json.dumps(record, ensure_ascii=False).encode("utf-8")
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
