"""A ``details`` object that comes back from outside (a relay's NATS message, an archive
row), checked before anything reads it. Pure.

secfeed writes ``details`` itself (``stage.py``); what it reads back was written by another
process, perhaps not by secfeed. The shapes here are what the parsers produce (the README's
schema): each field optional, with its type, numbers bounded as the parsers bound them
(:data:`MAX_NUMBER`). A field secfeed does not know is let through (a newer secfeed may add
one); a known field of the wrong type, or a status that is none of the four, makes the whole
object refused. A FinFeed frame never brings ``details`` at all (``protocol.py``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

#: The largest number of shares, dollars or a price that details hold (1e15: a thousand times
#: the shares any company has issued); the parsers refuse a document with a larger one.
MAX_NUMBER = 1e15

Number = Annotated[float, msgspec.Meta(ge=-MAX_NUMBER, le=MAX_NUMBER)]
Whole = Annotated[int, msgspec.Meta(ge=0, le=int(MAX_NUMBER))]
Status = Literal["ok", "deferred", "unavailable", "error"]


class _Shape(msgspec.Struct, kw_only=True):
    """Every shape: optional fields, unknown ones allowed."""


class _Issuer(_Shape):
    cik: Whole | None = None
    name: str | None = None
    ticker: str | None = None
    sic: str | None = None
    cusip: str | None = None


class _Owner(_Shape):
    cik: Whole | None = None
    name: str | None = None
    roles: list[str] = []
    title: str | None = None


class _Row(_Shape):
    table: str | None = None
    security: str | None = None
    date: str | None = None
    code: str | None = None
    shares: Number | None = None
    value: Number | None = None
    price: Number | None = None
    acquired_disposed: str | None = None
    shares_after: Number | None = None
    value_after: Number | None = None
    direct_indirect: str | None = None
    nature: str | None = None
    exercise_price: Number | None = None
    exercisable: str | None = None
    expires: str | None = None
    underlying: str | None = None
    underlying_shares: Number | None = None
    footnotes: list[str] = []


class _Person(_Shape):
    cik: Whole | None = None
    name: str | None = None
    amount: Number | None = None
    percent: Number | None = None
    types: list[str] = []


class _Details(_Shape):
    status: Status
    reason: str | None = None
    summary: str | None = None
    # Forms 3, 4, 5
    form: str | None = None
    period: str | None = None
    issuer: _Issuer | None = None
    owners: list[_Owner] = []
    transactions: list[_Row] = []
    holdings: list[_Row] = []
    footnotes: dict[str, str] = {}
    rule_10b5_1: bool | None = None
    remarks: str | None = None
    # 8-K
    items: list[str] = []
    item_names: list[str | None] = []
    sic: str | None = None
    # Schedules 13D/G
    security: str | None = None
    event_date: str | None = None
    persons: list[_Person] = []


def problem(value: Any) -> str | None:
    """Why ``value`` is not a details object secfeed can read, or None when it is."""
    if not isinstance(value, dict):
        return "'details' is not an object"
    try:
        msgspec.convert(value, _Details)
    except msgspec.ValidationError as exc:
        return f"'details' is not secfeed's details object: {str(exc)[:200]}"
    return None
