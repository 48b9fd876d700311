"""The FinFeedAPI SEC WebSocket protocol: a received frame becomes a typed message.

Pure: no I/O. Every way a frame can be wrong ends in :class:`ProtocolError`, never in any
other exception, so callers can skip and count bad frames with one ``except`` clause.

Wire spellings follow the public docs verbatim: the filing type tag is ``"fillings"`` and the
filing date field is ``filling_date``. The heartbeat is accepted both as ``heartbeat`` (SEC docs)
and ``hearbeat`` (the sibling APIs' spelling).
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

import orjson

__all__ = [
    "Filing",
    "Heartbeat",
    "Message",
    "ProtocolError",
    "Reconnect",
    "ServerError",
    "UnknownMessage",
    "hello_frame",
    "parse_date",
    "parse_filings",
    "parse_frame",
    "parse_time",
]

FILING_TYPE = "fillings"
#: EDGAR CIKs have at most 10 digits; a larger number would also lose precision in jq.
MAX_CIK = 9_999_999_999
HEARTBEAT_TYPES = frozenset({"heartbeat", "hearbeat"})

#: The wire fields of a filing, in the order the docs list them.
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


_TIME_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))\Z",
    re.ASCII,
)
_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})\Z", re.ASCII)
# Shapes that admit only valid field ranges, so validation needs no datetime for days 1..28.
_TIME_SHAPE = re.compile(
    r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])[Tt ](?:[01]\d|2[0-3]):[0-5]\d:"
    r"(?:[0-5]\d|60)(?:\.\d{1,9})?(?:[Zz]|[+-](?:[01]\d|2[0-3]):?[0-5]\d)\Z",
    re.ASCII,
)
_DATE_SHAPE = re.compile(r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])\Z", re.ASCII)
# A line per filing of its type tag and the four checked strings, NUL-separated: a batch of
# filings is matched in one go (the hot path). Only real dates and times of the years 1900 to
# 2099 match: day 29 of February, leap seconds and other years are left to the detailed path,
# where the calendar decides.
_D = (
    r"(?:19|20)\d\d-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
    r"|(?:0[13578]|1[02])-31)"
)
_T = _D + r"T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?Z"  # already in output form
_FILINGS_SHAPE = re.compile(
    rf"(?:fillings\x00\d{{10}}-\d{{2}}-\d{{6}}\x00{_D}\x00(?:{_T}|{_D})\x00{_T}\n)*\Z", re.ASCII
)
_ACCESSION_RE = re.compile(r"\d{10}-\d{2}-\d{6}\Z", re.ASCII)


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 time with 0 to 9 fraction digits and ``Z`` or an offset.

    Returns an aware datetime in UTC. Digits past microseconds are truncated (Python's
    datetime holds microseconds). Raises ``ValueError`` on anything else.
    """
    m = _TIME_RE.match(text)
    if m is None:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    year, month, day, hour, minute, second, frac, zulu, sign, oh, om = m.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    if zulu:
        tz = timezone.utc
    else:
        offset = timedelta(hours=int(oh), minutes=int(om))
        tz = timezone(-offset if sign == "-" else offset)
    sec = int(second)
    leap = sec == 60  # RFC 3339 allows a leap second; datetime does not.
    try:
        value = datetime(
            int(year), int(month), int(day), int(hour), int(minute), 59 if leap else sec, micro, tz
        )
        if leap:
            value += timedelta(seconds=1)
        utc = value.astimezone(timezone.utc)
    except OverflowError:  # e.g. year 1 with a positive offset: before datetime's range
        raise ValueError(f"time out of range: {text!r}") from None
    # A day of margin at both ends, so that any conversion to a local time zone stays in
    # datetime's range (the table shows local times).
    if not _EARLIEST <= utc <= _LATEST:
        raise ValueError(f"time out of range: {text!r}")
    return utc


_EARLIEST = datetime(1, 1, 2, tzinfo=timezone.utc)
_LATEST = datetime(9999, 12, 30, tzinfo=timezone.utc)


def normalize_time(text: str) -> str:
    """A valid time (see :func:`parse_time`) as RFC 3339 UTC: ``T``, ``Z``, fraction as received.

    The usual ``...THH:MM:SS[.f]Z`` is returned as it is; an offset is applied (offsets are
    whole minutes, so the fraction digits, 0 to 9 of them, stay exactly as received), and a
    space or lower-case ``t``/``z`` becomes ``T``/``Z``.
    """
    m = _TIME_RE.match(text)
    if m is None:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    year, month, day, hour, minute, second, frac, zulu, sign, oh, om = m.groups()
    fraction = f".{frac}" if frac else ""
    if zulu:
        return f"{year}-{month}-{day}T{hour}:{minute}:{second}{fraction}Z"
    leap = second == "60"
    offset = timedelta(hours=int(oh), minutes=int(om))
    local = datetime(
        int(year), int(month), int(day), int(hour), int(minute), 59 if leap else int(second)
    )
    utc = local - offset if sign == "+" else local + offset
    seconds = "60" if leap else f"{utc.second:02d}"
    return utc.strftime("%Y-%m-%dT%H:%M:") + seconds + fraction + "Z"


def parse_date(text: str) -> date:
    """Parse a ``YYYY-MM-DD`` date. Raises ``ValueError`` on anything else."""
    m = _DATE_RE.match(text)
    if m is None:
        raise ValueError(f"not a YYYY-MM-DD date: {text!r}")
    return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))


def format_time(value: datetime) -> str:
    """Format an aware datetime as UTC RFC 3339 with 7 fraction digits and ``Z``.

    Seven digits is the platform's documented output pattern (``yyyy-MM-ddTHH:mm:ss.fffffffZ``).
    """
    utc = value.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond:06d}0Z"


#: The ``extra`` of a filing with only the documented fields (one shared, read-only mapping).
NO_EXTRA: Mapping[str, Any] = MappingProxyType({})


@dataclass(slots=True)
class Filing:
    """One SEC filing as the stream announces it.

    Time fields are RFC 3339 UTC strings (``T``, ``Z``) with the fraction digits as received:
    the usual ``...Z`` exactly as received, an offset or a space converted (see
    :func:`normalize_time`); ``accepted_time`` may be a ``YYYY-MM-DD`` date. :meth:`discovered`
    and :meth:`accepted` parse them (they were validated when the frame was parsed).
    ``extra`` holds any fields the server sent beyond the documented ones, in the order
    received; ``frame`` the frame's bytes as
    received (for ``--raw``; empty for a filing not parsed from a frame).
    """

    accession_no: str
    form: str
    cik: int
    description: str
    filing_date: str
    accepted_time: str
    discovered_time: str
    is_historical: bool
    extra: Mapping[str, Any] = field(default_factory=dict)
    frame: bytes = field(default=b"", compare=False, repr=False)

    def discovered(self) -> datetime:
        return parse_time(self.discovered_time)

    def accepted(self) -> datetime | date:
        return _time_or_date(self.accepted_time)

    @property
    def url(self) -> str:
        """The EDGAR filing index page, built from ``cik`` and ``accession_no``."""
        return edgar_url(self.cik, self.accession_no)


def edgar_url(cik: int, accession_no: str) -> str:
    folder = accession_no.replace("-", "")
    return f"https://www.sec.gov/Archives/edgar/data/{cik}/{folder}/{accession_no}-index.htm"


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Sent by the server each second of silence, once ``hello`` asked for heartbeats."""

    spelling: str = "heartbeat"


@dataclass(frozen=True, slots=True)
class Reconnect:
    """The server asks the client to reconnect within ``within_seconds``, before ``before_time``."""

    within_seconds: float
    before_time: datetime | None


@dataclass(frozen=True, slots=True)
class ServerError:
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


@dataclass(frozen=True, slots=True)
class UnknownMessage:
    """A well-formed object whose ``type`` this client does not know; callers skip it."""

    type: str
    data: dict[str, Any]


Message = Filing | Heartbeat | Reconnect | ServerError | UnknownMessage


def hello_frame(heartbeat: bool = True) -> str:
    """The ``hello`` message; it is optional and only needed to turn heartbeats on."""
    return json.dumps({"type": "hello", "heartbeat": heartbeat}, separators=(",", ":"))


def decode_json(frame: str | bytes) -> Any:
    """Decode a text frame's JSON, mapping every failure to :class:`ProtocolError`.

    orjson does the work (it validates UTF-8 as it parses, several times faster than the
    standard library); a failure is then classified as bad UTF-8 or bad JSON.
    """
    try:
        return orjson.loads(frame)
    except orjson.JSONDecodeError as exc:
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
    try:
        data = orjson.loads(frame)
    except orjson.JSONDecodeError:
        data = decode_json(frame)  # raises the classified ProtocolError
    raw = frame if type(frame) is bytes else _as_bytes(frame)
    if type(data) is dict and data.get("type") == FILING_TYPE:
        return _filing(data, raw)  # the common case, one call shorter
    return parse_object(data, raw)


def _as_bytes(frame: str | bytes) -> bytes:
    return frame.encode() if isinstance(frame, str) else bytes(frame)


def parse_filings(frames: list[bytes]) -> list[Filing] | None:
    """Parse a batch of frames that are all plain filings, or return None.

    The fast path for a burst: each frame a JSON object holding exactly the documented
    fields, all valid. The work runs in C-level passes over the whole batch (decoding, field
    lookup, one regex over every filing's checked strings) instead of per-frame calls. None
    means some frame is anything else (a heartbeat, an extra field, a bad value): the caller
    then parses frame by frame with :func:`parse_frame`, which says what is wrong. A batch it
    accepts gives exactly the filings :func:`parse_frame` would (a property test holds it).
    """
    try:
        decoded = list(map(orjson.loads, frames))
    except orjson.JSONDecodeError:
        return None
    return _plain_filings(decoded, frames)


def _plain_filings(decoded: list[Any], frames: list[bytes]) -> list[Filing] | None:
    """Decoded frames as filings if every one is a plain, valid filing, else None."""
    try:
        rows = list(map(_FIELDS, decoded))
    except (KeyError, TypeError):  # TypeError: a non-object
        return None
    # The type tag and the strings the shape regex checks, a line of five NUL-separated
    # values per filing. A value that is not a string formats as something the regex rejects
    # (a number has no dashes, a list or object shows its brackets). Exactly one line per
    # filing, each with exactly four NULs, proves no value holds a NUL or a newline, so no
    # value can pose as the separators and every line is its own filing's.
    text = "".join([f"{r[0]}\x00{r[1]}\x00{r[5]}\x00{r[6]}\x00{r[7]}\n" for r in rows])
    if text.count("\n") != len(rows) or _FILINGS_SHAPE.match(text) is None:
        return None
    out: list[Filing] = []
    append = out.append
    # One plain loop: faster here than transposing the rows and checking types with sets.
    for (_, accession, form, cik, description, filing_date, accepted, discovered, historical), (
        data
    ), frame in zip(rows, decoded, frames, strict=True):
        if (
            type(form) is not str
            or type(cik) is not int
            or type(historical) is not bool
            or type(description) is not str
            or not 0 < cik <= MAX_CIK
            or len(data) != 9  # extra fields
        ):
            return None
        append(
            Filing(
                accession,
                form,
                cik,
                description,
                filing_date,
                accepted,
                discovered,
                historical,
                NO_EXTRA,
                frame,
            )
        )
    return out


def parse_object(data: Any, frame: bytes = b"") -> Message:
    """Turn a decoded JSON value into a message (see :func:`parse_frame`)."""
    if not isinstance(data, dict):
        raise ProtocolError("not-object", f"frame is a JSON {_json_kind(data)}, not an object")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("no-type", "frame has no string 'type'")
    if kind == FILING_TYPE:
        return _filing(data, frame)
    if kind in HEARTBEAT_TYPES:
        return Heartbeat(kind)
    if kind == "reconnect":
        return _reconnect(data)
    if kind == "error":
        message = data.get("message")
        return ServerError(message if isinstance(message, str) else json.dumps(message))
    return UnknownMessage(kind, data)


def _filing(data: dict[str, Any], frame: bytes) -> Filing:
    """A filing from its decoded frame: the batch check for the usual case, else the detail."""
    plain = _plain_filings([data], [frame])
    return plain[0] if plain else _filing_in_detail(data, frame)


def _extra(data: dict[str, Any]) -> Mapping[str, Any]:
    """Fields beyond the documented ones (the required ones are known to be present)."""
    known = 9 if "description" in data else 8
    if len(data) == known:
        return NO_EXTRA
    return {k: v for k, v in data.items() if k not in _KNOWN}


def _filing_in_detail(data: dict[str, Any], frame: bytes) -> Filing:
    """The tolerant path, with a precise reason for whatever is wrong."""
    accession = _str(data, "accession_no")
    if not _ACCESSION_RE.match(accession):
        raise ProtocolError("field", f"'accession_no' is not NNNNNNNNNN-NN-NNNNNN: {accession!r}")
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
    if not _valid_date(filing_date):
        _bad_time("filling_date", filing_date)
    accepted = _str(data, "accepted_time")
    if len(accepted) == 10:
        if not _valid_date(accepted):
            _bad_time("accepted_time", accepted)
    elif not _valid_time(accepted):
        _bad_time("accepted_time", accepted)
    else:
        accepted = normalize_time(accepted)
    discovered = _str(data, "discovered_time")
    if not _valid_time(discovered):
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


def _valid_time(text: str) -> bool:
    if _TIME_SHAPE.match(text) is None:
        return False
    try:  # the detailed path: datetime decides (days 29..31, leap seconds, the range)
        parse_time(text)
    except ValueError:
        return False
    return True


def _valid_date(text: str) -> bool:
    if _DATE_SHAPE.match(text) is None:
        return False
    if text[8:10] <= "28":
        return True
    try:
        parse_date(text)
    except ValueError:
        return False
    return True


def _bad_time(name: str, text: str) -> None:
    raise ProtocolError("field", f"'{name}' is not a valid time: {_short(repr(text))}")


_KNOWN = frozenset(FILING_FIELDS)
_FIELDS = operator.itemgetter(
    "type",
    "accession_no",
    "form",
    "cik",
    "description",
    "filling_date",
    "accepted_time",
    "discovered_time",
    "is_historical",
)


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


def _time_or_date(text: str) -> datetime | date:
    if len(text) == 10:
        return parse_date(text)
    return parse_time(text)


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
        what = "missing" if value is None else f"a {_json_kind(value)}, not a string"
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


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
