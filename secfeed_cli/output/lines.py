"""Line-oriented sinks for pipes and files: NDJSON (one object per line), CSV (RFC 4180), and a
JSON array; the encoding is ``encode.py``'s."""

from __future__ import annotations

import operator

from ..common.escape import has_control_csv
from ..wire.filing import Filing
from . import Counting, Output
from .encode import (
    _csv_rows,
    _csv_rows_escaping,
    _encode,
    _ndjson_lines,
    _quote_escaping,
    _raw_line,
    record_line,
)
from .records import COLUMNS, DETAILS_COLUMNS, LATENCY_COLUMNS, to_record

_DESCRIPTION = operator.attrgetter("description")
_FORM = operator.attrgetter("form")


class NdjsonSink(Counting):
    """One JSON object per line in the stable key order, UTF-8.

    Lines are flushed as soon as everything read from the socket so far has been handled
    (:meth:`flush` on each caught-up event), so no line waits for more input; a burst of
    filings from one read becomes one write. With ``raw``, each filing frame is written
    exactly as received instead (compacted onto one line if it holds line breaks).
    """

    def __init__(self, out: Output, latency: bool = False, raw: bool = False) -> None:
        self.out = out
        self.latency = latency
        self.raw = raw

    def filings(self, filings: list[Filing], received: float) -> None:
        if self.raw:
            data = b"".join([_raw_line(f.frame) for f in filings])
        elif self.latency:
            data = b"".join([record_line(f, received) for f in filings])
        else:
            data = _ndjson_lines(filings)
        self._write_counting(data, len(filings))

    def backlog_complete(self) -> None:
        pass

    def flush(self) -> None:
        self._flush_counting()

    def close(self) -> None:
        self.flush()


class CsvSink(Counting):
    """A header row, then one row per filing with the NDJSON columns (extra fields left out).

    RFC 4180: fields holding a comma, a double quote or a line break are quoted (quotes
    doubled); rows end in CRLF. Only ``form`` and ``description`` can need it, or hold control
    characters or a leading formula character (see :func:`_quote`): the other columns were
    validated as digits, dates, times and URLs when the frame was parsed.
    """

    def __init__(
        self, out: Output, latency: bool = False, header: bool = True, details: bool = False
    ) -> None:
        self.out = out
        self.latency = latency
        self.details = details
        self.columns = (
            COLUMNS + (LATENCY_COLUMNS if latency else ()) + (DETAILS_COLUMNS if details else ())
        )
        # Rows collect as text and go out as one encoded write per flush.
        self._rows: list[str] = [",".join(self.columns) + "\r\n"] if header else []

    def filings(self, filings: list[Filing], received: float) -> None:
        # One look for control characters over the batch's text cells (usually there are
        # none); only a batch that has some is escaped cell by cell.
        texts = "".join(map(_DESCRIPTION, filings)) + "".join(map(_FORM, filings))
        rows = (_csv_rows_escaping if has_control_csv(texts) else _csv_rows)(filings)
        if self.latency:
            for i, f in enumerate(filings):
                record = to_record(f, received)
                rows[i] += f",{record['received_time']},{record['latency_ms']}"
        if self.details:  # the status and the summary; the whole object is NDJSON's and JSON's
            for i, f in enumerate(filings):
                status, summary = f.details_cells or ("", "")
                rows[i] += f",{status},{_quote_escaping(summary)}"
        self._unflushed += len(filings)
        self._rows.append("\r\n".join(rows) + "\r\n")

    def backlog_complete(self) -> None:
        pass

    def flush(self) -> None:
        if self._rows:
            data = "".join(self._rows).encode("utf-8")
            self._rows.clear()
            self._write_counting(data, 0)
        self._flush_counting()

    def close(self) -> None:
        self.flush()


#: A cell starting with one of these is run as a formula by spreadsheets (OWASP, CSV injection).


class JsonArraySink(Counting):
    """One JSON array of the NDJSON objects (for snapshots); valid even when empty."""

    def __init__(self, out: Output, latency: bool = False) -> None:
        self.out = out
        self.latency = latency

    def filings(self, filings: list[Filing], received: float) -> None:
        when = received if self.latency else None
        text = b",\n".join([_encode(to_record(f, when)) for f in filings])
        lead = b"[\n" if self.written + self._unflushed == 0 else b",\n"
        self._write_counting(lead + text, len(filings))

    def backlog_complete(self) -> None:
        pass

    def flush(self) -> None:
        self._flush_counting()

    def close(self) -> None:
        self._write_counting(b"[]\n" if self.written + self._unflushed == 0 else b"\n]\n", 0)
        self.flush()
