"""A filing as secfeed holds it, its times, and its EDGAR address. Pure.

What filters, sinks and records import; the wire format that produces a :class:`Filing` is
``protocol.py``'s business. Times follow RFC 3339 as the feed sends them (0 to 9 fraction digits,
``Z`` or an offset, a leap second allowed), with one grammar (:data:`TIME_RE`) that admits only
valid field ranges.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Annotated, Any

import msgspec

from .details import Details, NoDetails
from .details import read as read_details

_DATE = r"(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
#: An RFC 3339 time: year, month, day, hour, minute, second, fraction, Z, sign, offset h, m.
TIME_RE = re.compile(
    _DATE + r"[Tt ]([01]\d|2[0-3]):([0-5]\d):([0-5]\d|60)(?:\.(\d{1,9}))?"
    r"(?:([Zz])|([+-])([01]\d|2[0-3]):?([0-5]\d))\Z",
    re.ASCII,
)
#: A ``YYYY-MM-DD`` date.
DATE_RE = re.compile(_DATE + r"\Z", re.ASCII)
# A day of margin at both ends of datetime's range, so that any conversion to a local time
# zone stays in it (the table shows local times).
_EARLIEST = datetime(1, 1, 2, tzinfo=timezone.utc)
_LATEST = datetime(9999, 12, 30, tzinfo=timezone.utc)


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 time with 0 to 9 fraction digits and ``Z`` or an offset.

    Returns an aware datetime in UTC. Digits past microseconds are truncated (Python's
    datetime holds microseconds). Raises ``ValueError`` on anything else.
    """
    m = TIME_RE.match(text)
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
    if not _EARLIEST <= utc <= _LATEST:
        raise ValueError(f"time out of range: {text!r}")
    return utc


def normalize_time(text: str) -> str:
    """A valid time (see :func:`parse_time`) as RFC 3339 UTC: ``T``, ``Z``, fraction as received.

    The usual ``...THH:MM:SS[.f]Z`` is returned as it is; an offset is applied (offsets are
    whole minutes, so the fraction digits, 0 to 9 of them, stay exactly as received), and a
    space or lower-case ``t``/``z`` becomes ``T``/``Z``.
    """
    m = TIME_RE.match(text)
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
    m = DATE_RE.match(text)
    if m is None:
        raise ValueError(f"not a YYYY-MM-DD date: {text!r}")
    return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))


def valid_time(text: str) -> bool:
    """Whether ``text`` is a time :func:`parse_time` accepts."""
    try:
        parse_time(text)
    except ValueError:
        return False
    return True


def valid_date(text: str) -> bool:
    """Whether ``text`` is a real ``YYYY-MM-DD`` date."""
    try:
        parse_date(text)
    except ValueError:
        return False
    return True


def format_time(value: datetime) -> str:
    """Format an aware datetime as UTC RFC 3339 with 7 fraction digits and ``Z``.

    Seven digits is the platform's documented output pattern (``yyyy-MM-ddTHH:mm:ss.fffffffZ``).
    """
    utc = value.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond:06d}0Z"


#: Seconds since the epoch of each ``YYYY-MM-DDTHH:MM`` seen by :func:`utc_seconds`.
_MINUTES: dict[str, float] = {}


def utc_seconds(text: str) -> float:
    """Seconds since the epoch of a time as a :class:`Filing` holds it (normalised:
    ``YYYY-MM-DDTHH:MM:SS[.f]Z``, validated when the frame was parsed); equal to
    ``parse_time(text).timestamp()`` but for the digits past microseconds, which it keeps.

    Each live filing's latency needs one, so the minute is parsed once and cached, and the
    seconds are read as a number.
    """
    minute = _MINUTES.get(text[:16])
    if minute is None:
        if len(_MINUTES) > 4096:
            _MINUTES.clear()
        minute = _MINUTES[text[:16]] = parse_time(text[:16] + ":00Z").timestamp()
    return minute + float(text[17:-1])


def time_or_date(text: str) -> datetime | date:
    if len(text) == 10:
        return parse_date(text)
    return parse_time(text)


#: The wire's type tag of a filing (sic: the public docs spell it so).
FILING_TYPE = "fillings"
#: EDGAR CIKs have at most 10 digits; a larger number would also lose precision in jq.
MAX_CIK = 9_999_999_999

#: The ``extra`` of a filing with only the documented fields (one shared, read-only mapping).
NO_EXTRA: Mapping[str, Any] = MappingProxyType({})


#: Who filed a filing: its company and primary ticker, each possibly unknown.
Who = tuple[str | None, str | None]
#: A filing's ``who`` before the company stage has seen it: no company, no ticker.
UNKNOWN: Who = (None, None)

#: Decoding constraints no JSON value can meet: ``extra`` and ``frame`` are filled in by the
#: parser, never from a frame's keys of those names (a frame that has one fails the fast decode
#: and takes the detailed path, which keeps it in ``extra``). Not checked on construction.
_NEVER_FROM_JSON = msgspec.Meta(min_length=1 << 62)


class Filing(
    msgspec.Struct,
    tag_field="type",
    tag=FILING_TYPE,
    rename={"filing_date": "filling_date"},
    forbid_unknown_fields=True,
    gc=False,
    eq=False,
    repr_omit_defaults=True,
):
    """One SEC filing as the stream announces it.

    Time fields are RFC 3339 UTC strings (``T``, ``Z``) with the fraction digits as received:
    the usual ``...Z`` exactly as received, an offset or a space converted (see
    :func:`normalize_time`); ``accepted_time`` may be a ``YYYY-MM-DD`` date. :meth:`discovered`
    and :meth:`accepted` parse them (they were validated when the frame was parsed).
    ``extra`` holds any fields the server sent beyond the documented ones, in the order
    received; ``frame`` the frame's bytes as received (for ``--raw``; empty for a filing not
    parsed from a frame); ``who`` the company and ticker, filled in by the run.

    A msgspec Struct: the parser's fast path decodes a plain filing frame straight into one
    (the wire's tag ``"type": "fillings"`` and spelling ``filling_date`` are declared here).
    Not tracked by the garbage collector: it holds strings, numbers and decoded JSON only, so
    it can be part of no reference cycle, and a burst of 131,072 filings then costs the
    collector nothing. Equality ignores ``frame``, as the filings are the same.
    """

    accession_no: str
    form: str
    cik: Annotated[int, msgspec.Meta(ge=1, le=MAX_CIK)]
    description: str
    filing_date: str
    accepted_time: str
    discovered_time: str
    is_historical: bool
    extra: Annotated[Mapping[str, Any], _NEVER_FROM_JSON] = NO_EXTRA
    frame: Annotated[bytes, _NEVER_FROM_JSON] = b""
    #: Who filed it, ``(company, ticker)``: not on the wire; the run's company stage
    #: (``companies/lookup.py``) sets it before any output sees the filing.
    who: Annotated[tuple[Any, ...], _NEVER_FROM_JSON] = UNKNOWN

    @property
    def company(self) -> str | None:
        """SEC's name for the filer, else the description's; None if neither knows."""
        company: str | None = self.who[0]
        return company

    @property
    def ticker(self) -> str | None:
        """The filer's primary ticker in SEC's map, if it has one."""
        ticker: str | None = self.who[1]
        return ticker

    def __eq__(self, other: object) -> bool:
        if type(other) is not Filing:
            return NotImplemented
        return (
            self.accession_no == other.accession_no
            and self.form == other.form
            and self.cik == other.cik
            and self.description == other.description
            and self.filing_date == other.filing_date
            and self.accepted_time == other.accepted_time
            and self.discovered_time == other.discovered_time
            and self.is_historical == other.is_historical
            and dict(self.extra) == dict(other.extra)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def discovered(self) -> datetime:
        return parse_time(self.discovered_time)

    def accepted(self) -> datetime | date:
        return time_or_date(self.accepted_time)

    @property
    def details(self) -> Details | None:
        """``--details``: what the filing says (or why nothing is known), typed; None when
        it has no details object (or one that cannot be read, refused where it came in)."""
        value = self.extra.get("details") if self.extra else None
        if value is None:
            return None
        try:
            return read_details(value)
        except ValueError:
            return None

    @property
    def details_summary(self) -> str | None:
        """``--details``: the one-line summary of what the filing says, if there is one."""
        details = self.details
        return None if details is None or isinstance(details, NoDetails) else details.summary

    @property
    def details_status(self) -> str | None:
        details = self.details
        return None if details is None else details.status

    @property
    def details_cells(self) -> tuple[str, str] | None:
        """(status, summary or ""), from one reading of the details (a details object back
        from NATS or an archive is read anew each time it is asked for); None without."""
        details = self.details
        if details is None:
            return None
        return details.status, "" if isinstance(details, NoDetails) else details.summary

    @property
    def url(self) -> str:
        """The EDGAR filing index page, built from ``cik`` and ``accession_no``."""
        return edgar_url(self.cik, self.accession_no)


def edgar_url(cik: int, accession_no: str) -> str:
    folder = accession_no.replace("-", "")
    return f"https://www.sec.gov/Archives/edgar/data/{cik}/{folder}/{accession_no}-index.htm"


# "FORM - NAME (0001234567) (Role)": what EDGAR's latest-filings feed puts in an entry's title,
# and what the stream's ``description`` repeats. The role (Filer, Issuer, Subject, Reporting,
# Filed by, ...) is there when EDGAR lists the filing under several entities.
_NAME_RE = re.compile(r"(.+?) \(\d{1,10}\)(?: \(([^()]+)\))?\Z", re.S)


def split_description(description: str, form: str) -> tuple[str | None, str | None]:
    """The company name and the role in an SEC description, or None for what is not there.

    The form prefix is taken off only as the form itself (a name can hold " - ")."""
    prefix = f"{form} - "
    rest = description[len(prefix) :] if description.startswith(prefix) else description
    m = _NAME_RE.match(rest)
    if m is None:
        return (rest.strip() or None), None
    return m.group(1).strip() or None, m.group(2)
