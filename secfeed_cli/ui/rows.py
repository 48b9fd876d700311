"""The ui's list, without a screen: the newest filings (bounded), which of them the filter
shows, pause, the selected row and the marks. Pure: ``app.py`` draws it.

Each filing gets a sequence number as it arrives; the list is the sequence numbers the filter
passes (``shown``, ascending). Paused, the list stops at a horizon: filings that arrive after
it wait below, counted ("+N new"), until ``resume``. When the buffer is full, the oldest
filing leaves it, and its row leaves the list.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from collections.abc import Iterable

import msgspec

from ..wire.filing import Filing
from .query import Keys, Query, keys_of, parse, selector

#: Filings kept by default (``secfeed ui --buffer``): a busy day of EDGAR, about 100 MB.
CAPACITY = 100_000


class Entry(msgspec.Struct, frozen=True, gc=False):
    """One filing of the list. Not tracked by the garbage collector (it holds strings and
    structs that are not either, and makes no cycle): 100,000 tracked entries made each of
    Python's full collections, pauses the ui felt, tens of milliseconds longer."""

    seq: int
    filing: Filing
    received: float
    keys: Keys


class Rows:
    def __init__(self, capacity: int = CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("the buffer holds at least one filing")
        self.capacity = capacity
        self.entries: deque[Entry] = deque()
        self.first = 0  # the sequence number of entries[0]
        self.total = 0  # filings ever added (the next sequence number)
        self.query = Query()
        self.shown: list[int] = []  # sequence numbers the filter passes, ascending
        self.horizon: int | None = None  # paused: rows from this sequence number wait
        self.cursor: int | None = None  # the selected row's position; None: the newest
        self.marked: set[str] = set()  # accession numbers
        self.seqs: dict[str, int] = {}  # accession number -> sequence number, of entries

    # -- what is shown --

    def __len__(self) -> int:
        """Rows in the list now (paused: up to the horizon)."""
        if self.horizon is None:
            return len(self.shown)
        return bisect_left(self.shown, self.horizon)

    @property
    def paused(self) -> bool:
        return self.horizon is not None

    @property
    def waiting(self) -> int:
        """Paused: rows that arrived since, and will show on resume."""
        return len(self.shown) - len(self)

    def entry(self, position: int) -> Entry:
        """The filing at a row of the list."""
        return self.entries[self.shown[position] - self.first]

    @property
    def selected(self) -> int | None:
        """The selected row's position (the newest while following), None when empty."""
        size = len(self)
        if not size:
            return None
        return size - 1 if self.cursor is None else min(self.cursor, size - 1)

    def selected_entry(self) -> Entry | None:
        position = self.selected
        return None if position is None else self.entry(position)

    # -- filings in --

    def add(self, filings: Iterable[Filing], received: float) -> int:
        """Append filings; returns how many rows left the top of the list (the buffer was
        full), so that a view can keep its rows in place."""
        entries, query, shown = self.entries, self.query, self.shown
        active = query.active
        for filing in filings:
            entry = Entry(self.total, filing, received, keys_of(filing))
            self.seqs[filing.accession_no] = self.total
            self.total += 1
            entries.append(entry)
            if not active or query.matches(entry.keys):
                shown.append(entry.seq)
        return self._evict()

    def update(self, seq: int, filing: Filing) -> bool:
        """The filing of entry ``seq`` as it is now (its details fetched on demand), if the
        buffer still holds it; its row stays where it is, passing the filter or not as it
        did (a row does not leave under the selection)."""
        at = seq - self.first
        if not 0 <= at < len(self.entries):
            return False
        old = self.entries[at]
        self.entries[at] = Entry(seq, filing, old.received, keys_of(filing))
        return True

    def _evict(self) -> int:
        over = len(self.entries) - self.capacity
        if over <= 0:
            return 0
        for _ in range(over):
            gone = self.entries.popleft()
            self.marked.discard(gone.filing.accession_no)
            if self.seqs.get(gone.filing.accession_no) == gone.seq:
                del self.seqs[gone.filing.accession_no]
        self.first += over
        dropped = bisect_left(self.shown, self.first)
        if dropped:
            del self.shown[:dropped]
            if self.cursor is not None:
                self.cursor = max(0, self.cursor - dropped)
        return dropped

    # -- the filter --

    def set_filter(self, text: str) -> None:
        """Filter as typed; the selected filing stays selected when it still passes (else the
        nearest row after it)."""
        query = parse(text)
        if query.words == self.query.words:
            self.query = query
            return
        keep = self.selected_entry()
        self.query = query
        if query.active:
            self.shown = selector(query)(self.entries)
        else:
            self.shown = list(range(self.first, self.total))
        if self.cursor is not None and keep is not None:
            self.cursor = min(bisect_left(self.shown, keep.seq), max(len(self) - 1, 0))

    # -- moving --

    def pause(self) -> None:
        if self.horizon is None:
            self.horizon = self.total
            if self.cursor is None and len(self):
                self.cursor = len(self) - 1

    def resume(self) -> None:
        """Back to live: the rows that waited show, and the newest is selected."""
        self.horizon = None
        self.cursor = None

    def move(self, by: int) -> None:
        """Select ``by`` rows down (negative: up); leaving the newest row pauses."""
        size = len(self)
        if not size:
            return
        here = self.selected
        assert here is not None
        target = max(0, min(size - 1, here + by))
        if target != here or self.paused:
            self.pause()
            self.cursor = target

    def select(self, position: int) -> None:
        """Select a row (a click): the list pauses there."""
        if 0 <= position < len(self):
            self.pause()
            self.cursor = position

    def next_match(self, forward: bool = True) -> bool:
        """``n``/``N``: the next (previous) row that matches: the filter's when one is set
        (every row shown), else the next marked row; wraps around. False: none."""
        size = len(self)
        here = self.selected
        if here is None:
            return False
        step = 1 if forward else -1
        marked = self.marked
        for k in range(1, size + 1):
            position = (here + step * k) % size
            if self.query.active or self.entry(position).filing.accession_no in marked:
                self.select(position)
                return True
        return False

    def toggle_mark(self) -> bool | None:
        """``m``: mark the selected row, or unmark it; None when the list is empty."""
        entry = self.selected_entry()
        if entry is None:
            return None
        accession = entry.filing.accession_no
        if accession in self.marked:
            self.marked.discard(accession)
            return False
        self.marked.add(accession)
        return True
