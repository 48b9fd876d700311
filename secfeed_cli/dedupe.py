"""Exactly-once delivery: the accession numbers already delivered, bounded. Pure."""

from __future__ import annotations

import operator
from collections import deque

from .filing import Filing

_ACCESSION = operator.attrgetter("accession_no")


class SeenSet:
    """Accession numbers already delivered: O(1) per filing, the oldest forgotten past ``size``."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._set: set[str] = set()
        self._order: deque[str] = deque()

    def __contains__(self, key: str) -> bool:
        return key in self._set

    def __len__(self) -> int:
        return len(self._set)

    def add(self, key: str) -> bool:
        """Remember ``key``; False if it was already there (one hash lookup either way)."""
        seen = self._set
        before = len(seen)
        seen.add(key)
        if len(seen) == before:
            return False
        self._order.append(key)
        if before >= self.size:
            seen.discard(self._order.popleft())
        return True

    def fresh(self, filings: list[Filing]) -> list[Filing]:
        """Remember a batch's accessions; the filings whose accession was new, in order.

        The usual batch is all new and has no repeats: then it is taken in set operations
        over the whole batch, with the same result as :meth:`add` on each in turn.
        """
        keys = list(map(_ACCESSION, filings))
        batch = set(keys)
        seen = self._set
        if len(batch) != len(keys) or not seen.isdisjoint(batch):
            add = self.add
            return [f for f, key in zip(filings, keys, strict=True) if add(key)]
        seen |= batch
        order = self._order
        order.extend(keys)
        for _ in range(len(seen) - self.size):
            seen.discard(order.popleft())
        return filings
