"""``--archive PATH``: every filing the run receives, written into the archive on a thread of
its own, in batches, exactly once.

The run hands each batch over as it arrives (after de-duplication, before the output filters,
so the archive is complete whatever the run shows), encoded there as the rows SQLite takes
apart; the writer takes whatever has queued up into one transaction. The queue is bounded: a
disk slower than the feed makes the feed wait there, never anywhere else, and nothing is
dropped. A transaction is whole or absent (WAL), so a process killed at any point leaves an
archive with whole filings only, and the next run completes it (``INSERT OR IGNORE`` on the
accession number: what was there stays, once). A failure (full disk, the file made read-only)
is kept and raised in the run's thread at its next hand-over: the run stops with one line and
exit 7 rather than go on unarchived.
"""

from __future__ import annotations

import sqlite3
import threading
import zlib
from collections import deque
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, NamedTuple

import msgspec
from msgspec import UnsetType

from ..errors import ArchiveError
from ..filtering.grep import without_full_text
from ..wire.details import EightK, NoDetails, Ownership, Report, Text
from ..wire.filing import Filing, format_time
from .schema import COLUMNS, open_for_writing

if TYPE_CHECKING:
    from ..common.diagnostics import Diagnostics
    from ..details.edgar import EdgarClient

#: Filings waiting for the writer, at most: a burst as large as the benchmark's never waits
#: for the disk (as encoded rows, about 25 MB at most); a larger one waits.
QUEUE_FILINGS = 131_072
#: Filings the writer takes into one transaction, at most.
PER_TRANSACTION = 20_000


class Rows(NamedTuple):
    """A batch of filings as one JSON array of rows in :data:`COLUMNS` order, but
    ``archived_time``: :data:`_INSERT_JSON` takes it apart."""

    json: bytes
    size: int  # filings


class Details(NamedTuple):
    """What ``--details`` found of filings already added."""

    filings: list[Filing]
    size: int  # filings


Job = Rows | Details

#: Rows to index in one go when the writer has time (a new batch waits for it: ~20 ms).
INDEX_STEP = 5000
#: Rows indexed at the end of a run, at most; the rest wait for the next writer's spare time
#: (``archive search`` reads rows not indexed yet directly, so nothing is missed meanwhile).
CLOSING_INDEX = 20_000
_INDEX = (
    "INSERT INTO search (rowid, company, description, items)"
    " SELECT seq, company, description, (SELECT group_concat(item || ' ' || coalesce(name, ''),"
    " ' ') FROM items i WHERE i.accession_no = f.accession_no) FROM filings f"
    " WHERE seq > ? ORDER BY seq LIMIT ?"
)
_encode = msgspec.json.Encoder().encode


class ArchiveWriter:
    def __init__(self, path: str) -> None:
        self.path = path
        self.db = open_for_writing(path)  # a problem is one line now, before the run
        try:
            last = (
                "SELECT discovered_time FROM filings WHERE discovered_time IS NOT NULL"
                " ORDER BY seq DESC LIMIT 1"
            )
            newest = self.db.execute(last).fetchone()
        except sqlite3.Error as exc:
            self.db.close()
            raise self._failure(exc) from None
        #: The newest filing the archive held when the run started (for the gap).
        self.newest_before: str | None = None if newest is None else newest[0]
        self.added = 0  # filings new to the archive
        self.known = 0  # filings it had already
        self.error: ArchiveError | None = None
        self._jobs: deque[Job] = deque()
        self._queued = 0  # filings in _jobs
        self._changed = threading.Condition()
        self._closing = False
        self._closed = False
        self._filling: threading.Thread | None = None  # --backfill, while it runs
        self._indexed_all = False
        self._thread = threading.Thread(target=self._work, name="secfeed-archive", daemon=True)
        self._thread.start()

    def add(self, filings: list[Filing]) -> None:
        """Queue a batch (their ``who`` set); waits only while the queue is full.

        The batch is encoded here, on the run's thread (about 0.3 us a filing), not on the
        writer's: Python runs one thread at a time, and the writer taking Python's lock back
        for its share stalled the feed's thread more than doing the work here does (the
        drain at 0.64-0.77x of plain, 0.74-0.81x this way: bench/ARCHIVE.md). The writer
        then only hands bytes to SQLite, which works without that lock; the queue holds the
        rows as they are now, whatever the run does to its filings afterwards."""
        if self.error is not None:
            raise self.error
        if filings:
            self._put(Rows(_encode([_row(f) for f in filings]), len(filings)))

    def add_details(self, filings: Iterable[Filing]) -> None:
        """Queue what ``--details`` found of filings already added."""
        if self.error is not None:
            raise self.error
        found = [f for f in filings if f.details_status == "ok"]
        if found:
            self._put(Details(found, len(found)))

    def fill_gap(
        self,
        client: EdgarClient,
        since: str,
        until: str,
        diag: Diagnostics,
        words: bool = False,
    ) -> None:
        """--backfill: the gap's filings from EDGAR's indexes, on a thread of their own;
        ``words`` (--text asked too): each 8-K's and 6-K's words as well, 2 to 5 requests
        each at the pace (only when asked: a gap can hold hundreds of them)."""
        from .backfill import Backfill

        def add(rows: list[Any]) -> None:
            self._put(Rows(_encode(rows), len(rows)))
            if words:
                self._words_of(client, rows)

        def fill() -> None:
            backfill = Backfill(client, add, diag.warn)
            backfill.run(since, until)
            diag.info(backfill.summary())

        self._filling = threading.Thread(target=fill, name="secfeed-backfill", daemon=True)
        self._filling.start()

    def _words_of(self, client: EdgarClient, rows: list[Any]) -> None:
        """The words of the 8-Ks and 6-Ks among backfilled rows, into the archive (a row
        whose words cannot be had is left without: the run goes on)."""
        from msgspec.structs import replace

        from ..details.stage import TEXT_KINDS, TextWanted, details_of, kind

        wanted = TextWanted()
        for row in rows:
            if kind(row.form) not in TEXT_KINDS:
                continue
            filing = Filing(
                row.accession_no, row.form, row.cik, row.description, row.filing_date,
                row.accepted_time, row.accepted_time, True,
            )  # fmt: skip
            details = details_of(filing, client, wanted)
            if details.status == "ok":
                self._put(Details([replace(filing, extra={"details": details})], 1))

    def _put(self, job: Job) -> None:
        with self._changed:
            while self._queued and self._queued + job.size > QUEUE_FILINGS:
                self._changed.wait()  # the one place the feed waits for the disk
            self._jobs.append(job)
            self._queued += job.size
            self._changed.notify_all()

    def close(self) -> None:
        """Write what is queued, then close; raises the writer's failure, if it had one."""
        if not self._closed:
            self._closed = True
            if self._filling is not None:
                self._filling.join()  # bounded: a few dozen paced requests
            with self._changed:
                self._closing = True
                self._changed.notify_all()
            self._thread.join()
            self.db.close()
        if self.error is not None:
            raise self.error

    def summary(self) -> str:
        return f"archive {self.path}: {self.added:,} filings added, {self.known:,} already there"

    # The writer's thread.

    def _work(self) -> None:
        while True:
            with self._changed:
                idle = not self._jobs and not self._closing
                if idle and (self._indexed_all or self.error is not None):
                    self._changed.wait_for(lambda: bool(self._jobs) or self._closing)
                jobs = self._take()
                closing = self._closing and not self._jobs
            if jobs and self.error is None:
                try:
                    self._write(jobs)
                except sqlite3.Error as exc:
                    self.error = self._failure(exc)
            elif not jobs and not closing and self.error is None:
                self._index(INDEX_STEP)  # the feed has left time: index what is new
            if closing:
                if self.error is None:
                    self._index(CLOSING_INDEX)
                return

    def _take(self) -> list[Job]:
        """The queued jobs, up to a transaction's worth (called holding the lock)."""
        jobs: list[Job] = []
        taken = 0
        while self._jobs and taken < PER_TRANSACTION:
            job = self._jobs.popleft()
            jobs.append(job)
            taken += job.size
        if jobs:
            self._queued -= taken
            self._changed.notify_all()
        return jobs

    def _write(self, jobs: list[Job]) -> None:
        db = self.db
        now = format_time(datetime.now(timezone.utc))
        db.execute("BEGIN IMMEDIATE")
        try:
            top = db.execute("SELECT coalesce(max(seq), 0) FROM filings").fetchone()[0]
            offered = 0
            for job in jobs:
                if isinstance(job, Rows):  # the feed's, or --backfill's from EDGAR's indexes
                    offered += job.size
                    db.execute(_INSERT_JSON, (now, job.json))
                else:
                    _write_details(db, job.filings)
            added = db.execute("SELECT coalesce(max(seq), 0) FROM filings").fetchone()[0] - top
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        self.added += added
        self.known += offered - added
        if added:
            self._indexed_all = False

    def _index(self, most: int) -> None:
        """Index up to ``most`` rows not in the search index yet (also rows another tool or
        another writer added): one transaction, which a writer of filings waits for."""
        if self._indexed_all:
            return
        db = self.db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                done = db.execute("SELECT coalesce(max(rowid), 0) FROM search").fetchone()[0]
                db.execute(_INDEX, (done, most))
                top = db.execute("SELECT coalesce(max(seq), 0) FROM filings").fetchone()[0]
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            self.error = self._failure(exc)
            return
        self._indexed_all = done >= top

    def _failure(self, exc: sqlite3.Error) -> ArchiveError:
        reason = str(exc)
        if "disk is full" in reason or "disk I/O" in reason:
            return ArchiveError(f"cannot write archive {self.path}: the disk is full ({reason})")
        if "readonly" in reason:
            return ArchiveError(f"cannot write archive {self.path}: it is read-only")
        return ArchiveError(f"cannot write archive {self.path}: {reason}")


#: A batch of rows (:class:`Rows`) taken apart by SQLite: one statement, during which the writer
#: does not hold Python's lock. Bound row by row instead (``executemany``, or many rows a
#: statement), the writer took that lock back for every value and slowed the drain to 0.58x;
#: this way the archive completes later (bench/ARCHIVE.md).
_INSERT_JSON = (
    f"INSERT OR IGNORE INTO filings ({', '.join(COLUMNS)}) SELECT "
    + ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(COLUMNS) - 1))
    + ", ? FROM json_each(?)"
)


def _row(f: Filing) -> tuple[Any, ...]:
    """A filing's values in :data:`COLUMNS` order, but ``archived_time`` (the batch's)."""
    extra = f.extra
    if extra and "details" in extra:
        extra = {k: v for k, v in extra.items() if k != "details"}
    company, ticker = f.who
    return (
        f.accession_no,
        f.form,
        f.cik,
        company,
        ticker,
        f.description,
        f.filing_date,
        f.accepted_time,
        f.discovered_time,
        f.is_historical,
        _encode(extra).decode() if extra else None,
    )


def _write_details(db: sqlite3.Connection, filings: list[Filing]) -> None:
    for f in filings:
        details = f.details
        if details is None:  # refused where it came in: never here
            continue
        accession = f.accession_no
        summary = None if isinstance(details, NoDetails) else details.summary
        cursor = db.execute(
            "INSERT OR IGNORE INTO details (accession_no, status, summary, document)"
            " VALUES (?, ?, ?, ?)",
            # the document as it came (a newer secfeed's fields too)
            (accession, details.status, summary, _encode(_lean(f)).decode()),
        )
        if not cursor.rowcount:  # a run before this one stored them
            continue
        if isinstance(details, Ownership):
            _write_ownership(db, accession, details)
        elif isinstance(details, EightK):
            _write_items(db, accession, details)
            if isinstance(details.text, Text):
                _write_text(db, accession, details.text)
        elif isinstance(details, Report) and isinstance(details.text, Text):
            _write_text(db, accession, details.text)


def _lean(filing: Filing) -> Any:
    """The details document as stored: as it came, but the whole text of ``--text`` (kept
    compressed in ``texts``) left to its excerpts."""
    value = filing.extra["details"]
    if isinstance(value, EightK | Report) and isinstance(value.text, Text):
        return without_full_text(filing).extra["details"]
    return value


def _write_text(db: sqlite3.Connection, accession: str, text: Text) -> None:
    parts = [(f"item {i.code}", i.words, i.text) for i in text.items]
    parts += [(e.type, e.words, e.text) for e in text.exhibits]
    for part, words, body in parts:
        if not isinstance(body, str) or not body:
            continue
        cursor = db.execute(
            "INSERT OR IGNORE INTO texts VALUES (?, ?, ?, ?)",
            (accession, part, words, zlib.compress(body.encode(), 6)),
        )
        if cursor.rowcount:
            db.execute(
                "INSERT INTO text_search (rowid, body) VALUES (?, ?)", (cursor.lastrowid, body)
            )


def _write_ownership(db: sqlite3.Connection, accession: str, details: Ownership) -> None:
    db.executemany(
        "INSERT OR IGNORE INTO owners VALUES (?, ?, ?, ?, ?, ?)",
        [
            (accession, n, o.cik, o.name, ",".join(o.roles) or None, o.title)
            for n, o in enumerate(details.owners)
        ],
    )
    db.executemany(
        "INSERT OR IGNORE INTO transactions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                accession,
                n,
                t.table,
                t.security,
                _text(t.date),
                _text(t.code),
                _text(t.acquired_disposed),
                _number(t.shares),
                _number(t.price),
                _number(t.value),
                _number(t.shares_after),
                t.direct_indirect,
            )
            for n, t in enumerate(details.transactions)
        ],
    )


def _write_items(db: sqlite3.Connection, accession: str, details: EightK) -> None:
    names = details.item_names
    pairs = [
        (accession, item, names[n] if n < len(names) else None)
        for n, item in enumerate(details.items)
    ]
    db.executemany("INSERT OR IGNORE INTO items VALUES (?, ?, ?)", pairs)
    if pairs:
        db.execute(
            "UPDATE search SET items = ? WHERE rowid ="
            " (SELECT seq FROM filings WHERE accession_no = ?)",
            (" ".join(f"{item} {name or ''}" for _, item, name in pairs), accession),
        )


def _text(value: str | None | UnsetType) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
