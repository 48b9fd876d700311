"""The output schema's encoders: a filing as an NDJSON line or a CSV row, fast.

The batch functions are generated from the schema (``records.FIELDS``), as dataclasses and
namedtuple generate theirs: an f-string per filing inside one list comprehension. The code they
run is in :data:`SOURCES`, shown in tracebacks (it is in ``linecache``) and pinned by
``tests/test_schema.py``, so it can be read and debugged like any other.
"""

from __future__ import annotations

import linecache
from collections.abc import Callable
from json.encoder import encode_basestring as _js
from typing import Any, TypeVar

import msgspec

from ..common.escape import escape_control_csv
from ..wire.filing import Filing, Who, edgar_url
from .records import line_source, to_record

#: The generated batch functions' code, by name.
SOURCES: dict[str, str] = {}


def _compile(name: str, source: str, **names: Any) -> Any:
    """A batch function generated from the schema (records.FIELDS), as dataclasses and
    namedtuple generate theirs: an f-string per filing inside one list comprehension."""
    namespace: dict[str, Any] = {
        "_js": _js,
        "_quote": _quote,
        "edgar_url": edgar_url,
        "record_line": record_line,
        **names,
    }
    filename = f"<secfeed {name}>"
    SOURCES[name] = source
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)
    return namespace[name]


#: The records of :func:`to_record` written directly, a line each, as one UTF-8 block. Only
#: text fields need JSON escaping; the other strings were validated when the frame was parsed.
#: A filing with extra fields goes through msgspec. Equal to ``record_line(f, None)`` per
#: line (a property test holds it to that).
_ndjson_lines: Callable[[list[Filing]], bytes]
#: CSV rows (without line ends) in the same columns; ``_csv_rows_escaping`` also makes control
#: characters visible.
_csv_rows: Callable[[list[Filing]], list[str]]
_csv_rows_escaping: Callable[[list[Filing]], list[str]]


def _raw_line(frame: bytes) -> bytes:
    """The frame as received, on one line: a frame holding line breaks (pretty-printed JSON,
    where they can only be whitespace between tokens) is re-encoded compactly."""
    if b"\n" in frame or b"\r" in frame:
        return _encode(msgspec.json.decode(frame)) + b"\n"
    return frame + b"\n"


_encode = msgspec.json.Encoder().encode


def record_line(f: Filing, received: float | None) -> bytes:
    """The NDJSON line of :func:`to_record`'s object (extra fields, latency and alerts)."""
    return _encode(to_record(f, received)) + b"\n"


K = TypeVar("K", str, Who)


def _memo(encode: Callable[[K], str]) -> tuple[dict[K, str], Callable[[K], str]]:
    """A cache of encoded pieces (a form's cell, a filer's company and ticker) and the function
    that fills it: the generated code looks in the cache first (a dict's get, no Python call).
    Cleared past 50,000 entries."""
    pieces: dict[K, str] = {}

    def piece(key: K) -> str:
        if len(pieces) > 50_000:
            pieces.clear()
        found = pieces[key] = encode(key)
        return found

    return pieces, piece


def _json_piece(who: Who) -> str:
    """``"company":...,"ticker":...``: the two keys as a piece of a JSON object."""
    company, ticker = who
    return (
        '"company":'
        + ("null" if company is None else _js(company))
        + ',"ticker":'
        + ("null" if ticker is None else _js(ticker))
    )


def _csv_piece(who: Who) -> str:
    """The company and ticker cells of a CSV row, escaped as :func:`_quote_escaping` does (the
    map comes from the network; a name from the description is in the batch's control check,
    but escaping it here too keeps one cache for both kinds of batch)."""
    company, ticker = who
    return f"{_quote_escaping(company or '')},{_quote_escaping(ticker or '')}"


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _quote_escaping(text: str) -> str:
    """A text cell: control characters escaped visibly (``\\x1b``, as the table shows them),
    then as :func:`_quote`."""
    return _quote(escape_control_csv(text))


def _quote(text: str) -> str:
    """A text cell without control characters: a leading formula character neutralised with a
    ``'`` (OWASP's advice), then RFC 4180 quoting."""
    if text.startswith(FORMULA_START):
        text = "'" + text
    if '"' in text:
        return '"' + text.replace('"', '""') + '"'
    if "," in text or "\n" in text or "\r" in text:
        return f'"{text}"'
    return text


_json_pieces, _json_piece_cached = _memo(_json_piece)
_ndjson_lines = _compile(
    "_ndjson_lines",
    "def _ndjson_lines(filings):\n"
    "    return ''.join([\n"
    f"        f'{line_source('json')}\\n' if not f.extra else record_line(f, None).decode()\n"
    "        for f in filings\n"
    "    ]).encode()\n",
    _who_pieces=_json_pieces,
    _who_piece=_json_piece_cached,
)
_csv_pieces, _csv_piece_cached = _memo(_csv_piece)
_forms, _quote_form = _memo(_quote)
_forms_escaping, _quote_form_escaping = _memo(_quote_escaping)
_csv_rows = _compile(
    "_csv_rows",
    f"def _csv_rows(filings):\n    return [f'{line_source('csv')}' for f in filings]\n",
    _forms=_forms,
    _quote_form=_quote_form,
    _who_pieces=_csv_pieces,
    _who_piece=_csv_piece_cached,
)
_csv_rows_escaping = _compile(
    "_csv_rows_escaping",
    f"def _csv_rows_escaping(filings):\n    return [f'{line_source('csv')}' for f in filings]\n",
    _quote=_quote_escaping,
    _forms=_forms_escaping,
    _quote_form=_quote_form_escaping,
    _who_pieces=_csv_pieces,
    _who_piece=_csv_piece_cached,
)

#: The NDJSON lines of a batch of filings, as ``tail -f ndjson`` writes them (also the payload
#: of ``secfeed relay``'s messages).
ndjson_lines: Callable[[list[Filing]], bytes] = _ndjson_lines
