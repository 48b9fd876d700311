"""The company stage: each filing's ``company`` and ``ticker``, from SEC's CIK map, else from
the SEC description.

The run hands every batch to :meth:`Companies.fill` before any output sees it, so outputs get
finished filings (``filing.company``, ``filing.ticker``) and look nothing up. One
:class:`Companies` per command run; its answers are cached by
CIK for the CIKs SEC maps (the map is loaded on the first filing, not at start-up) and by
description for the others.
"""

from __future__ import annotations

from collections.abc import Callable

from ..wire.filing import Filing, Who, split_description
from .tickers import Directory, directory

_BOUND = 50_000  # the description cache is cleared when it grows past this


class Companies:
    """Who filed what, for one run; ``load`` gives the map (SEC's, loaded once a process),
    ``warn`` is told of a cached map that could not be used, if this run loads it."""

    def __init__(
        self,
        load: Callable[[], Directory] | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self._load = load or (lambda: directory(warn))
        self._map: Directory | None = None
        self._by_cik: dict[int, Who] = {}
        self._by_description: dict[tuple[str, str], Who] = {}

    def fill(self, filings: list[Filing]) -> None:
        """Set each filing's ``who`` (the hot path: one dict lookup for a CIK seen before)."""
        known, who = self._by_cik.get, self.who
        for f in filings:
            f.who = known(f.cik) or who(f)  # a Who is a non-empty tuple: never false

    def who(self, filing: Filing) -> Who:
        """The filer's name (SEC's, else the description's, else None) and primary ticker."""
        found = self._by_cik.get(filing.cik)
        if found is not None:
            return found
        if self._map is None:
            self._map = self._load()
        name = self._map.name.get(filing.cik)
        if name is not None:
            found = (name, self._map.primary(filing.cik))
            self._by_cik[filing.cik] = found
            return found
        key = (filing.description, filing.form)
        found = self._by_description.get(key)
        if found is None:
            if len(self._by_description) > _BOUND:
                self._by_description.clear()
            found = (split_description(filing.description, filing.form)[0], None)
            self._by_description[key] = found
        return found
