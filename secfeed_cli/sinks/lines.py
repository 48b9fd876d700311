"""Line-oriented sinks for pipes and files: NDJSON (one object per line) and CSV (RFC 4180)."""

from __future__ import annotations

from json.encoder import encode_basestring as _js
from typing import BinaryIO

import orjson

from ..protocol import Filing, edgar_url
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
        elif not self.latency and not filing.extra:
            line = _ndjson_line(filing)
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


def _ndjson_line(f: Filing) -> bytes:
    """The record of :func:`to_record` written directly (the usual case: no extras, no latency).

    Only ``form`` and ``description`` need JSON escaping; the other strings were validated as
    digits, dates and times when the frame was parsed. Equal to ``orjson.dumps(to_record(f))``
    (a test holds it to that).
    """
    return (
        f'{{"accession_no":"{f.accession_no}","form":{_js(f.form)},"cik":{f.cik},'
        f'"description":{_js(f.description)},"filing_date":"{f.filing_date}",'
        f'"accepted_time":"{f.accepted_time}","discovered_time":"{f.discovered_time}",'
        f'"is_historical":{"true" if f.is_historical else "false"},'
        f'"url":"{edgar_url(f.cik, f.accession_no)}"}}\n'
    ).encode()


class CsvSink:
    """A header row, then one row per filing with the NDJSON columns (extra fields left out).

    RFC 4180: fields holding a comma, a double quote or a line break are quoted (quotes
    doubled); rows end in CRLF. Only ``form`` and ``description`` can need it: the other
    columns were validated as digits, dates, times and URLs when the frame was parsed.
    """

    def __init__(self, out: BinaryIO, latency: bool = False, header: bool = True) -> None:
        self.out = out
        self.latency = latency
        self.columns = COLUMNS + (LATENCY_COLUMNS if latency else ())
        # Rows collect as text and go out as one encoded write per flush.
        self._rows: list[str] = [",".join(self.columns) + "\r\n"] if header else []
        self.written = 0

    def filing(self, filing: Filing, raw: bytes, received: float) -> None:
        row = (
            f"{filing.accession_no},{_quote(filing.form)},{filing.cik},"
            f"{_quote(filing.description)},{filing.filing_date},{filing.accepted_time},"
            f"{filing.discovered_time},{'true' if filing.is_historical else 'false'},"
            f"{edgar_url(filing.cik, filing.accession_no)}"
        )
        if self.latency:
            record = to_record(filing, received)
            row += f",{record['received_time']},{record['latency_ms']}"
        self.written += 1
        self._rows.append(row + "\r\n")

    def backlog_complete(self) -> None:
        pass

    def flush(self) -> None:
        if self._rows:
            data = "".join(self._rows).encode("utf-8")
            self._rows.clear()
            self.out.write(data)
        self.out.flush()

    def close(self) -> None:
        self.flush()


def _quote(text: str) -> str:
    if '"' in text:
        return '"' + text.replace('"', '""') + '"'
    if "," in text or "\n" in text or "\r" in text:
        return f'"{text}"'
    return text


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
