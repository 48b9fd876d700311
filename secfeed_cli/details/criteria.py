"""Filters that wait for details: ``--item``, ``--insider-code``, ``--min-value``, ``--sic``.
Pure.

A filing passes when every filter given holds for it: ``--item`` for 8-Ks (any of the codes),
``--insider-code`` for Forms 3/4/5 (any transaction with one of the codes), ``--min-value`` for
Forms 3/4/5 (the transactions with a price, or those of ``--insider-code``, worth that much in
all), ``--sic`` for both (the issuer's or the filer's industry; ``28xx`` is a prefix). A filing
whose details could not be had (deferred, unavailable, error), or of a form without details, is
left out when any of them is given: nothing is known that would let it pass.
"""

from __future__ import annotations

import msgspec

from ..wire.details import EightK, NoDetails, Ownership, Row
from ..wire.filing import Filing
from .ownership import traded_value


class DetailFilter(msgspec.Struct, frozen=True):
    items: frozenset[str] = frozenset()
    codes: frozenset[str] = frozenset()
    min_value: float | None = None
    sics: tuple[str, ...] = ()  # "2834", or "28" for 28xx

    @property
    def active(self) -> bool:
        return bool(self.items or self.codes or self.sics) or self.min_value is not None

    def passes(self, filing: Filing) -> bool:
        details = filing.details
        if details is None or isinstance(details, NoDetails):
            return False
        if self.items and not (isinstance(details, EightK) and self.items & set(details.items)):
            return False
        if self.codes or self.min_value is not None:
            if not isinstance(details, Ownership):
                return False
            rows = _rows(details, self.codes)
            if self.codes and not rows:
                return False
            if self.min_value is not None and traded_value(rows) < self.min_value:
                return False
        if self.sics:
            sic = (
                details.issuer.sic
                if isinstance(details, Ownership)
                else details.sic
                if isinstance(details, EightK)
                else None
            )
            if not sic or not any(sic.startswith(prefix) for prefix in self.sics):
                return False
        return True


def _rows(details: Ownership, codes: frozenset[str]) -> list[Row]:
    rows = [r for r in details.transactions if r.table == "non_derivative"]
    return [r for r in rows if not codes or r.code in codes]


def parse_sic(text: str) -> str:
    """``2834`` or ``28xx`` (a prefix); ValueError otherwise."""
    t = text.strip().lower()
    digits = t.rstrip("x")
    if not (len(t) == 4 and digits.isdigit() and 1 <= len(digits)):
        raise ValueError(f"{text!r} is not a SIC code (4 digits, or a prefix such as 28xx)")
    return digits
