"""The ``details`` object: what a filing says, from EDGAR (``--details``), typed. Pure.

secfeed's parsers (``details/``) build these structs, the outputs encode them (the field order
is the JSON's key order: the README's schema, byte for byte), and everything that reads details
(filters, the table, the ui, the archive) reads their fields. A ``details`` object that comes
back from outside (a relay's NATS message, an archive row) is checked against the same structs
(:func:`read`) before anything reads it: numbers bounded as the parsers bound them
(:data:`MAX_NUMBER`), a known field of the wrong type or a status that is none of the four
refuses the whole object. A field secfeed does not know is let through as it came (a newer
secfeed may add one) and left unread. A FinFeed frame never brings ``details`` (``protocol.py``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

#: The largest number of shares, dollars or a price that details hold (1e15: a thousand times
#: the shares any company has issued); the parsers refuse a document with a larger one.
MAX_NUMBER = 1e15

#: A number as the document gives it: ``1500`` stays an int, ``66.9`` a float.
Amount = (
    Annotated[int, msgspec.Meta(ge=-int(MAX_NUMBER), le=int(MAX_NUMBER))]
    | Annotated[float, msgspec.Meta(ge=-MAX_NUMBER, le=MAX_NUMBER)]
)
Whole = Annotated[int, msgspec.Meta(ge=0, le=int(MAX_NUMBER))]
#: A field a row has only in one table, or only for a transaction: absent from the JSON.
Maybe = UnsetType


# -- Forms 3, 4 and 5 ---------------------------------------------------------------------


class Issuer(msgspec.Struct, frozen=True, kw_only=True):
    cik: Whole | None = None
    name: str | None = None
    ticker: str | None = None
    sic: str | None = None


class Owner(msgspec.Struct, frozen=True, kw_only=True):
    cik: Whole | None = None
    name: str | None = None
    roles: list[str] = []  # director, officer, ten_percent_owner, other
    title: str | None = None


class Row(msgspec.Struct, frozen=True, kw_only=True):
    """A transaction (``date`` to ``acquired_disposed`` set) or a holding (those absent), of
    the non-derivative or the derivative table (the derivative one's fields set)."""

    table: str | None = None  # non_derivative, derivative
    security: str | None = None
    date: str | None | Maybe = UNSET
    code: str | None | Maybe = UNSET
    shares: Amount | None | Maybe = UNSET
    value: Amount | None | Maybe = UNSET
    price: Amount | None | Maybe = UNSET
    acquired_disposed: str | None | Maybe = UNSET
    shares_after: Amount | None = None
    value_after: Amount | None = None
    direct_indirect: str | None = None
    nature: str | None = None
    exercise_price: Amount | None | Maybe = UNSET
    exercisable: str | None | Maybe = UNSET
    expires: str | None | Maybe = UNSET
    underlying: str | None | Maybe = UNSET
    underlying_shares: Amount | None | Maybe = UNSET
    footnotes: list[str] = []

    @property
    def traded(self) -> tuple[float | None, float | None]:
        """(shares, price) when the row gives them as numbers."""
        shares = self.shares if isinstance(self.shares, int | float) else None
        price = self.price if isinstance(self.price, int | float) else None
        return shares, price


class Ownership(msgspec.Struct, frozen=True, kw_only=True):
    status: Literal["ok"] = "ok"
    form: str | None = None
    period: str | None = None
    issuer: Issuer = msgspec.field(default_factory=Issuer)
    owners: list[Owner] = []
    transactions: list[Row] = []
    holdings: list[Row] = []
    footnotes: dict[str, str] = {}
    rule_10b5_1: bool | None = None
    remarks: str | None = None
    summary: str = ""


# -- the words of a filing (--text) -------------------------------------------------------


class Section(msgspec.Struct, frozen=True, kw_only=True):
    """One item of an 8-K's body (``Item 5.02 ...`` up to the next item or the signatures)."""

    code: str | None = None  # "5.02"; "9" under the pre-2004 numbering
    name: str | None = None  # as the document heads it
    words: int = 0
    excerpt: str = ""  # its first words, whitespace made single spaces
    text: str | Maybe = UNSET  # the whole of it: with --text-full only


class Exhibit(msgspec.Struct, frozen=True, kw_only=True):
    """A press release or other EX-99 document of the filing."""

    type: str = ""  # "EX-99.1"
    description: str | None = None
    url: str = ""
    words: int = 0
    excerpt: str = ""
    text: str | Maybe = UNSET  # --text-full
    problem: str | None | Maybe = UNSET  # why its words are missing, when they are


class Text(msgspec.Struct, frozen=True, kw_only=True):
    """``--text``: what the primary document says, item by item, and its EX-99 exhibits.
    ``status`` is ``ok``, or ``unavailable``/``error`` with a ``reason`` (the items of the
    filing's details still stand)."""

    status: Literal["ok", "unavailable", "error"] = "ok"
    reason: str | None | Maybe = UNSET
    url: str | None = None  # the primary document
    words: int = 0  # the primary document's, cover and signatures included
    items: list[Section] = []
    exhibits: list[Exhibit] = []
    cut: bool | Maybe = UNSET  # True: a document was longer than secfeed reads


# -- 8-K ----------------------------------------------------------------------------------


class EightK(msgspec.Struct, frozen=True, kw_only=True):
    status: Literal["ok"] = "ok"
    items: list[str] = []  # "5.02"
    item_names: list[str | None] = []  # Form 8-K's names (None: a code it does not list)
    sic: str | None = None
    period: str | None = None
    summary: str = ""
    text: Text | Maybe = UNSET  # --text


# -- 6-K ----------------------------------------------------------------------------------


class Report(msgspec.Struct, frozen=True, kw_only=True):
    """A foreign issuer's 6-K (``--text``): no items, its words are its exhibits'."""

    status: Literal["ok"] = "ok"
    form: str = "6-K"
    text: Text | Maybe = UNSET
    summary: str = ""


# -- Schedules 13D and 13G ----------------------------------------------------------------


class Issuer13(msgspec.Struct, frozen=True, kw_only=True):
    cik: Whole | None = None
    name: str | None = None
    cusip: str | None = None


class Person(msgspec.Struct, frozen=True, kw_only=True):
    cik: Whole | None = None
    name: str | None = None
    amount: Amount | None = None
    percent: Amount | None = None
    types: list[str] = []


class Schedule13(msgspec.Struct, frozen=True, kw_only=True):
    status: Literal["ok"] = "ok"
    form: str | None = None
    issuer: Issuer13 = msgspec.field(default_factory=Issuer13)
    security: str | None = None
    event_date: str | None = None
    persons: list[Person] = []
    summary: str = ""


# -- none to be had -----------------------------------------------------------------------


class NoDetails(msgspec.Struct, frozen=True, kw_only=True):
    """``deferred`` (not in within the wait), ``unavailable`` (EDGAR has none: see
    ``details/stage.py``) or ``error`` (the document could not be read), and why."""

    status: Literal["deferred", "unavailable", "error"]
    reason: str | None = None


Found = Ownership | EightK | Schedule13 | Report
Details = Found | NoDetails
KINDS: tuple[type[Any], ...] = (Ownership, EightK, Schedule13, Report, NoDetails)


def read(value: Any) -> Details:
    """``value`` (a details object back from JSON) as the struct it is; ValueError says why
    it is not one secfeed can read."""
    if isinstance(value, KINDS):
        return value  # type: ignore[no-any-return]
    if not isinstance(value, dict):
        raise ValueError("'details' is not an object")
    status = value.get("status")
    kind: type[Details]
    if status == "ok":
        if "persons" in value:
            kind = Schedule13
        elif "items" in value or "item_names" in value:
            kind = EightK
        elif "text" in value and "issuer" not in value:
            kind = Report
        else:
            kind = Ownership
    elif status in ("deferred", "unavailable", "error"):
        kind = NoDetails
    else:
        raise ValueError(
            f"'details' is not secfeed's details object: its status {str(status)[:40]!r} is"
            " none of ok, deferred, unavailable, error"
        )
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError as exc:
        raise ValueError(f"'details' is not secfeed's details object: {str(exc)[:200]}") from None


def problem(value: Any) -> str | None:
    """Why ``value`` is not a details object secfeed can read, or None when it is."""
    try:
        read(value)
    except ValueError as exc:
        return str(exc)
    return None
