"""The FinFeedAPI SEC WebSocket protocol: a received frame becomes a typed message.

Pure: no I/O. Every way a frame can be wrong ends in :class:`ProtocolError`, never in any
other exception, so callers can skip and count bad frames with one ``except`` clause.

Wire spellings follow the public docs verbatim: the filing type tag is ``"fillings"`` and the
filing date field is ``filling_date``. The heartbeat is accepted both as ``heartbeat`` (SEC docs)
and ``hearbeat`` (the sibling APIs' spelling).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import msgspec
from msgspec.structs import replace

from .details import problem as details_problem
from .filing import (
    FILING_TYPE,
    MAX_CIK,
    NO_EXTRA,
    Filing,
    normalize_time,
    parse_time,
    valid_date,
    valid_time,
)

__all__ = [
    "Filing",
    "Heartbeat",
    "Message",
    "ProtocolError",
    "Reconnect",
    "ServerError",
    "UnknownMessage",
    "hello_frame",
    "parse_filings",
    "parse_frame",
]

HEARTBEAT_TYPES = frozenset({"heartbeat", "hearbeat"})

#: The wire fields of a filing, in the order the docs list them: the detailed path and the
#: emulator's encoder follow it; the fast path's decoder is :class:`Filing` itself, whose wire
#: names a test holds to this list.
FILING_FIELDS = (
    "type",
    "is_historical",
    "discovered_time",
    "form",
    "description",
    "filling_date",
    "accepted_time",
    "accession_no",
    "cik",
)


class ProtocolError(ValueError):
    """A frame that is not a valid protocol message.

    ``kind`` is a short stable tag for counting and "warn once per kind" (``json``, ``utf8``,
    ``binary``, ``not-object``, ``no-type``, ``field``); ``str(error)`` is a one-line reason.
    """

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


# A line per filing of its four checked strings, NUL-separated: a batch of filings is matched
# in one go (the hot path). Only real dates and times of the years 1900 to
# 2099 match: day 29 of February, leap seconds and other years are left to the detailed path,
# where the calendar decides.
_D = (
    r"(?:19|20)\d\d-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
    r"|(?:0[13578]|1[02])-31)"
)
_T = _D + r"T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?Z"  # already in output form
_FILINGS_SHAPE = re.compile(
    rf"(?:\d{{10}}-\d{{2}}-\d{{6}}\x00{_D}\x00(?:{_T}|{_D})\x00{_T}\n)*\Z", re.ASCII
)
_ACCESSION_RE = re.compile(r"\d{10}-\d{2}-\d{6}\Z", re.ASCII)


class Heartbeat(msgspec.Struct, frozen=True):
    """Sent by the server each second of silence, once ``hello`` asked for heartbeats."""

    spelling: str = "heartbeat"


class Reconnect(msgspec.Struct, frozen=True):
    """The server asks the client to reconnect within ``within_seconds``, before ``before_time``.

    The stream schedules its new connection from ``within_seconds`` alone: it is measured on
    this machine's clock, where ``before_time`` is the server's, and the two can disagree by
    more than the window. ``before_time`` is still checked (a malformed one makes the message
    malformed, as the protocol documents the field), and left unread."""

    within_seconds: float
    before_time: datetime | None


class ServerError(msgspec.Struct, frozen=True):
    """An ``error`` message; the server closes the connection right after it."""

    message: str

    INVALID_KEY = "Invalid API key"
    OVERFLOW = "Reached maximum allowed buffered messages for this connection."

    @property
    def is_invalid_key(self) -> bool:
        return self.message.strip().rstrip(".").lower() == "invalid api key"

    @property
    def is_overflow(self) -> bool:
        return self.message.lower().startswith("reached maximum allowed buffered messages")


class UnknownMessage(msgspec.Struct, frozen=True):
    """A well-formed object whose ``type`` this client does not know; callers skip it."""

    type: str
    data: dict[str, Any]


Message = Filing | Heartbeat | Reconnect | ServerError | UnknownMessage


def hello_frame(heartbeat: bool = True) -> str:
    """The ``hello`` message; it is optional and only needed to turn heartbeats on."""
    return json.dumps({"type": "hello", "heartbeat": heartbeat}, separators=(",", ":"))


_decode_any = msgspec.json.Decoder().decode
#: A plain filing frame straight into a Filing: the documented fields and nothing else, with
#: their JSON types (msgspec checks them, and the CIK's range); anything else fails.
_decode_filing = msgspec.json.Decoder(Filing).decode
#: What a frame's decoding can raise (msgspec reports bad UTF-8 as UnicodeDecodeError, and
#: nesting deeper than Python's recursion limit as RecursionError).
_DECODE_ERRORS = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)


def decode_json(frame: str | bytes) -> Any:
    """Decode a text frame's JSON, mapping every failure to :class:`ProtocolError`.

    msgspec does the work (it validates UTF-8 as it parses); a failure is then classified as
    bad UTF-8 or bad JSON.
    """
    try:
        return _decode_any(frame)
    except _DECODE_ERRORS as exc:
        if isinstance(frame, bytes | bytearray | memoryview):
            try:
                bytes(frame).decode("utf-8")
            except UnicodeDecodeError as bad:
                raise ProtocolError(
                    "utf8", f"frame is not valid UTF-8 (byte {bad.start})"
                ) from None
        raise ProtocolError("json", f"frame is not valid JSON ({_short(str(exc))})") from None


def parse_frame(frame: str | bytes) -> Message:
    """Turn one received text frame (``str``, or ``bytes`` holding UTF-8) into a message."""
    raw = frame if type(frame) is bytes else _as_bytes(frame)
    plain = parse_filings([raw])
    if plain is not None:
        return plain[0]  # the common case
    return parse_object(decode_json(frame), raw)


def _as_bytes(frame: str | bytes) -> bytes:
    return frame.encode() if isinstance(frame, str) else bytes(frame)


def parse_filings(frames: list[bytes], keep_frames: bool = True) -> list[Filing] | None:
    """Parse a batch of frames that are all plain filings, or return None.

    The fast path for a burst: each frame a JSON object holding exactly the documented
    fields, all valid. msgspec decodes each frame straight into a :class:`Filing`, checking
    the fields' presence and JSON types, that there are no others, and the CIK's range; one
    regex then checks every filing's accession number, dates and times in one pass. None
    means some frame is anything else (a heartbeat, an extra field, a bad value): the caller
    then parses frame by frame with :func:`parse_frame`, which says what is wrong. A batch it
    accepts gives exactly the filings the detailed path would (a property test holds it).
    ``keep_frames=False`` leaves each filing's ``frame`` empty (only ``--raw`` writes it:
    setting it costs ~0.2 us a filing).
    """
    try:
        filings = list(map(_decode_filing, frames))
    except _DECODE_ERRORS:
        return None
    # The checked strings of each filing on a line, NUL-separated. Exactly one line per
    # filing, each with exactly four NULs, proves no value holds a NUL or a newline, so no
    # value can pose as the separators and every line is its own filing's.
    text = "".join(
        [
            f"{f.accession_no}\x00{f.filing_date}\x00{f.accepted_time}\x00{f.discovered_time}\n"
            for f in filings
        ]
    )
    if text.count("\n") != len(filings) or _FILINGS_SHAPE.match(text) is None:
        return None
    if keep_frames:
        for filing, frame in zip(filings, frames, strict=True):
            filing.frame = frame
    return filings


def parse_object(data: Any, frame: bytes = b"") -> Message:
    """Turn a decoded JSON value into a message (see :func:`parse_frame`)."""
    if not isinstance(data, dict):
        raise ProtocolError("not-object", f"frame is a JSON {_json_kind(data)}, not an object")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("no-type", "frame has no string 'type'")
    if kind == FILING_TYPE:
        return _filing_in_detail(data, frame)
    if kind in HEARTBEAT_TYPES:
        return Heartbeat(kind)
    if kind == "reconnect":
        return _reconnect(data)
    if kind == "error":
        message = data.get("message")
        return ServerError(message if isinstance(message, str) else json.dumps(message))
    return UnknownMessage(kind, data)


def _extra(data: dict[str, Any]) -> Mapping[str, Any]:
    """Fields beyond the documented ones (the required ones are known to be present), less
    those secfeed derives itself (:data:`DERIVED`): a frame cannot pass one off as ours."""
    known = _N_FIELDS if "description" in data else _N_FIELDS - 1
    if len(data) == known:
        return NO_EXTRA
    return {k: v for k, v in data.items() if k not in _KNOWN and k not in DERIVED}


def _filing_in_detail(data: dict[str, Any], frame: bytes) -> Filing:
    """A filing from its decoded frame, when the fast path (:func:`parse_filings`) turned it
    down or never saw it: the tolerant path, with a precise reason for whatever is wrong."""
    accession = _str(data, "accession_no")
    if not _ACCESSION_RE.match(accession):
        raise ProtocolError(
            "field", f"'accession_no' is not NNNNNNNNNN-NN-NNNNNN: {_short(repr(accession))}"
        )
    cik = data.get("cik")
    if isinstance(cik, str) and cik.isascii() and cik.isdigit():
        cik = int(cik)  # tolerated: the docs show an integer but do not promise it
    if not isinstance(cik, int) or isinstance(cik, bool) or not 1 <= cik <= MAX_CIK:
        raise ProtocolError(
            "field", f"'cik' is not an integer from 1 to {MAX_CIK}: {_short(repr(cik))}"
        )
    historical = data.get("is_historical")
    if not isinstance(historical, bool):
        raise ProtocolError("field", "'is_historical' is not a boolean")
    description = data.get("description")
    if description is None:
        description = ""
    elif not isinstance(description, str):
        raise ProtocolError("field", "'description' is not a string")
    filing_date = _str(data, "filling_date")
    if not valid_date(filing_date):
        _bad_time("filling_date", filing_date, "date")
    accepted = _str(data, "accepted_time")
    if len(accepted) == 10:
        if not valid_date(accepted):
            _bad_time("accepted_time", accepted, "date")
    elif not valid_time(accepted):
        _bad_time("accepted_time", accepted)
    else:
        accepted = normalize_time(accepted)
    discovered = _str(data, "discovered_time")
    if not valid_time(discovered):
        _bad_time("discovered_time", discovered)
    discovered = normalize_time(discovered)
    return Filing(
        accession,
        _str(data, "form"),
        cik,
        description,
        filing_date,
        accepted,
        discovered,
        historical,
        _extra(data),
        frame,
    )


def _bad_time(name: str, text: str, what: str = "time") -> None:
    raise ProtocolError("field", f"'{name}' is not a valid {what}: {_short(repr(text))}")


_KNOWN = frozenset(FILING_FIELDS)
_N_FIELDS = len(FILING_FIELDS)


def _reconnect(data: dict[str, Any]) -> Reconnect:
    within = data.get("within_seconds")
    if not isinstance(within, int | float) or isinstance(within, bool) or within < 0:
        raise ProtocolError("field", "reconnect 'within_seconds' is not a non-negative number")
    before_raw = data.get("before_time")
    before = None
    if before_raw is not None:
        if not isinstance(before_raw, str):
            raise ProtocolError("field", "reconnect 'before_time' is not a string")
        before = _check(parse_time, before_raw, "before_time")
    return Reconnect(float(within), before)


def _check(parse: Any, text: str, name: str) -> Any:
    try:
        return parse(text)
    except ValueError:
        raise ProtocolError(
            "field", f"'{name}' is not a valid time: {_short(repr(text))}"
        ) from None


def _str(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        kind = _json_kind(value)
        what = "missing" if value is None else f"{_a(kind)} {kind}, not a string"
        raise ProtocolError("field", f"'{name}' is {what}")
    return value


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int | float):
        return "number"
    return "null" if value is None else type(value).__name__


def _a(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: Output fields secfeed derives (``records.py``), not part of a filing: never taken from a
#: FinFeed frame. ``details`` comes from EDGAR through secfeed alone; read back from secfeed's
#: own output (a relay's message, an archive row) it is checked (``details.py``).
DERIVED = frozenset(
    ("company", "ticker", "url", "received_time", "latency_ms", "details", "matches")
)
_RECOMPUTED = DERIVED - {"details"}


def filing_from_record(record: Any, payload: bytes) -> Filing:
    """A filing back from secfeed's own output object (a ``secfeed relay`` message, an
    archive row), checked as a wire frame is, its ``details`` too. Raises ProtocolError."""
    if not isinstance(record, dict) or "filing_date" not in record:
        raise ProtocolError("shape", "not a secfeed filing object")
    data = {k: v for k, v in record.items() if k not in _RECOMPUTED}
    data["filling_date"] = data.pop("filing_date")
    data["type"] = FILING_TYPE
    details = data.pop("details", None)
    filing = _filing_in_detail(data, payload)
    if details is None:
        return filing
    why = details_problem(details)
    if why is not None:
        raise ProtocolError("field", why)
    return replace(filing, extra={**filing.extra, "details": details})
