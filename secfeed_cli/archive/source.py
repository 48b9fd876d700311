"""``tail --from PATH`` and ``snapshot --from PATH``: an archive as the source of a run.

What the archive holds when the run starts is the backlog (``is_historical: true``, with
``--since``, ``-n``, every filter and format as from the feed); then, unless
``--backlog-only``, the rows another secfeed appends are followed as they are committed, as
``tail -f`` follows a file (a look every 0.2 s: committed rows only, never half a batch). The
file is opened read-only, and every row is checked as a wire frame is: a row edited into
nonsense is skipped with a warning, never printed.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import msgspec

from ..errors import ArchiveError
from ..feed.events import (
    CAUGHT_UP,
    BacklogComplete,
    Connected,
    Event,
    Malformed,
    NewFilings,
    Notice,
    Stats,
)
from ..wire.filing import Filing
from ..wire.protocol import ProtocolError, filing_from_record
from .schema import open_for_reading, stoppable

#: Rows read at once.
BATCH = 2000
#: How often a followed archive is looked at for new rows.
POLL = 0.2

_SELECT = (
    "SELECT f.seq, f.accession_no, f.form, f.cik, f.company, f.ticker, f.description,"
    " f.filing_date, f.accepted_time, f.discovered_time, f.extra, d.document"
    " FROM filings f LEFT JOIN details d ON d.accession_no = f.accession_no"
    " WHERE f.seq > ? AND f.seq <= ? AND f.discovered_time IS NOT NULL ORDER BY f.seq LIMIT ?"
)
_decode = msgspec.json.Decoder().decode


class ArchiveSource:
    def __init__(self, path: str, backlog: bool = True) -> None:
        self.path = path
        self.backlog = backlog
        self.stats = Stats(host=path)
        self.last_cause = f"reading archive {path}"
        self.db = open_for_reading(path)

    @property
    def heartbeat(self) -> bool:
        return False

    @property
    def deadline(self) -> float | None:
        return None

    def events(self) -> Iterator[Event]:
        yield Connected(1, f"archive {self.path}")
        self.stats.state = "connected"
        top = self._top()
        try:
            with stoppable(self.db):
                filled = self.db.execute(
                    "SELECT count(*) FROM filings WHERE discovered_time IS NULL"
                ).fetchone()[0]
        except sqlite3.Error as exc:
            raise ArchiveError(f"cannot read archive {self.path}: {exc}") from None
        if filled:
            yield Notice(
                f"{filled:,} filings filled in from EDGAR's indexes (--backfill: not seen live,"
                " no discovered_time) are not replayed; `secfeed archive query` reads them",
                level="info",
            )
        last = 0 if self.backlog else top
        shown = 0
        while last < top:
            last, filings, bad = self._read(last, top, historical=True)
            yield from bad
            shown += len(filings)
            if filings:
                yield NewFilings(filings, time.time())
        self.stats.backlog_complete = True
        yield BacklogComplete(initial=True, new=shown, overlap=0)
        while True:
            top = self._top()
            if top <= last:
                yield CAUGHT_UP
                time.sleep(POLL)
                continue
            while last < top:
                last, filings, bad = self._read(last, top, historical=False)
                yield from bad
                if filings:
                    yield NewFilings(filings, time.time())
            yield CAUGHT_UP

    def unconsumed(self, filings: list[Filing]) -> None:
        """Nothing to hand back: the archive keeps every row."""

    def handled(self) -> None:
        """Nothing to acknowledge."""

    def close(self, settled: bool = False) -> None:
        self.db.close()

    def _top(self) -> int:
        try:
            with stoppable(self.db):
                row = self.db.execute("SELECT coalesce(max(seq), 0) FROM filings").fetchone()
            top: int = row[0]
        except sqlite3.Error as exc:
            raise ArchiveError(f"cannot read archive {self.path}: {exc}") from None
        return top

    def _read(
        self, after: int, top: int, historical: bool
    ) -> tuple[int, list[Filing], list[Malformed]]:
        try:
            with stoppable(self.db):  # a signal stops a read that would not end
                rows = self.db.execute(_SELECT, (after, top, BATCH)).fetchall()
        except sqlite3.Error as exc:
            raise ArchiveError(f"cannot read archive {self.path}: {exc}") from None
        filings: list[Filing] = []
        bad: list[Malformed] = []
        for row in rows:
            self.stats.received += 1
            try:
                filings.append(_filing(row, historical))
            except (ProtocolError, ValueError, TypeError) as exc:
                self.stats.malformed += 1
                bad.append(Malformed("archive row", f"row {row[0]}: {exc}"))
        return (rows[-1][0] if rows else top), filings, bad


def _filing(row: tuple[Any, ...], historical: bool) -> Filing:
    (_, accession, form, cik, company, ticker, description, filing_date, accepted, discovered) = (
        row[:10]
    )
    record: dict[str, Any] = {}
    if row[10] is not None:
        extra = _decode(row[10])
        if not isinstance(extra, dict):
            raise ValueError("its extra fields are not a JSON object")
        record.update(extra)
    record.update(
        accession_no=accession,
        form=form,
        cik=cik,
        description=description,
        filing_date=filing_date,
        accepted_time=accepted,
        discovered_time=discovered,
        is_historical=historical,
    )
    if row[11] is not None:
        record["details"] = _decode(row[11])
    filing = filing_from_record(record, b"")
    if (company is None or isinstance(company, str)) and (
        ticker is None or isinstance(ticker, str)
    ):
        filing.who = (company, ticker)
    return filing
