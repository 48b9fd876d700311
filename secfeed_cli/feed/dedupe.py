"""Exactly-once delivery: the accession numbers already delivered, bounded. Pure."""

from __future__ import annotations

import operator
from collections import deque
from itertools import chain, islice

from ..wire.filing import Filing

_ACCESSION = operator.attrgetter("accession_no")


class SeenSet:
    """Accession numbers already delivered: O(1) per filing, the oldest forgotten past ``size``."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a SeenSet remembers at least one key")
        self.size = size
        self._set: set[str] = set()
        #: The keys in the order they came; when full, the deque drops the oldest itself.
        self._order: deque[str] = deque(maxlen=size)

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
        order = self._order
        if len(order) == self.size:
            seen.discard(order[0])  # the oldest, which the append drops from the deque
        order.append(key)
        return True

    def fresh(self, filings: list[Filing]) -> list[Filing]:
        """Remember a batch's accessions; the filings whose accession was new, in order.

        The usual batch is all new and has no repeats: then it is taken in set operations
        over the whole batch, with the same result as :meth:`add` on each in turn. Once the
        set is full, the oldest keys go in one step too (a loop of ``discard`` per filing
        doubled the cost of a filing past the first ``size``).
        """
        keys = list(map(_ACCESSION, filings))
        batch = set(keys)
        seen = self._set
        if len(batch) != len(keys) or not seen.isdisjoint(batch):
            add = self.add
            return [f for f, key in zip(filings, keys, strict=True) if add(key)]
        seen |= batch
        order = self._order
        excess = len(seen) - self.size
        if excess > 0:  # the oldest of what was there, then of this batch
            seen.difference_update(islice(chain(order, keys), excess))
        order.extend(keys)  # drops the same oldest keys from the deque
        return filings
