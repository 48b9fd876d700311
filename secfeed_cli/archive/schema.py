"""The archive's SQLite schema, its version and migrations, and opening a file as an archive.

One table of filings, exactly once each (``accession_no`` is unique; ``seq`` is the order this
archive received them, which ``--from PATH`` follows), the details of ``--details`` in their
own tables, an FTS5 index over company, description and 8-K item names, and one over the
words of ``--text`` (version 2). ``PRAGMA
user_version`` is the schema's version: an older archive is migrated when a writer opens it, a
newer one is refused (an older secfeed cannot know what it holds).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..common import signals
from ..errors import ArchiveError

#: The schema this secfeed writes; ``MIGRATIONS[n]`` takes version n to n + 1.
VERSION = 2
#: How long a write waits for another process's transaction before it fails.
BUSY_TIMEOUT_MS = 30_000

CREATE: tuple[str, ...] = (
    """CREATE TABLE filings (
    seq INTEGER PRIMARY KEY,          -- the order this archive received them in
    accession_no TEXT NOT NULL UNIQUE,
    form TEXT NOT NULL,
    cik INTEGER NOT NULL,
    company TEXT,                     -- SEC's name for the filer, else the description's
    ticker TEXT,
    description TEXT NOT NULL,
    filing_date TEXT NOT NULL,
    accepted_time TEXT NOT NULL,
    discovered_time TEXT,             -- when FinFeedAPI first saw it (RFC 3339 UTC); null:
                                      -- not seen live, filled in from EDGAR's indexes
    is_historical INTEGER NOT NULL,   -- 1: first received in a backlog, 0: live
    extra TEXT,                       -- further fields the server sent: a JSON object
    archived_time TEXT NOT NULL,      -- when this archive stored it (RFC 3339 UTC)
    -- the EDGAR filing index page: made from cik and accession_no when read, not stored
    url TEXT GENERATED ALWAYS AS (
        'https://www.sec.gov/Archives/edgar/data/' || cik || '/'
        || replace(accession_no, '-', '') || '/' || accession_no || '-index.htm'
    ) VIRTUAL
)""",
    # No other index: each costs every row of a burst (three of them doubled the time of an
    # insert, measured); add your own with CREATE INDEX, the writer does not mind.
    """CREATE TABLE details (
    accession_no TEXT PRIMARY KEY REFERENCES filings (accession_no),
    status TEXT NOT NULL,             -- ok (only what was read is kept)
    summary TEXT,
    document TEXT NOT NULL            -- the whole details object, JSON
)""",
    """CREATE TABLE owners (
    accession_no TEXT NOT NULL REFERENCES filings (accession_no),
    position INTEGER NOT NULL,
    cik INTEGER,
    name TEXT,
    roles TEXT,                       -- director, officer, ten_percent, other: comma-separated
    title TEXT,
    PRIMARY KEY (accession_no, position)
)""",
    """CREATE TABLE transactions (
    accession_no TEXT NOT NULL REFERENCES filings (accession_no),
    position INTEGER NOT NULL,
    kind TEXT,                        -- non-derivative or derivative
    security TEXT,
    date TEXT,
    code TEXT,                        -- P purchase, S sale, A award, M exercise, ...
    acquired_disposed TEXT,           -- A or D
    shares REAL,
    price REAL,
    value REAL,                       -- shares x price, when both are known
    shares_after REAL,
    direct_indirect TEXT,
    PRIMARY KEY (accession_no, position)
)""",
    """CREATE TABLE items (
    accession_no TEXT NOT NULL REFERENCES filings (accession_no),
    item TEXT NOT NULL,               -- 8-K item, e.g. 5.02
    name TEXT,                        -- its name in Form 8-K
    PRIMARY KEY (accession_no, item)
)""",
    "CREATE VIRTUAL TABLE search USING fts5 (company, description, items)",
    # The writer indexes new rows when the feed leaves it time (an insert trigger would make
    # FTS5 flush its buffer for every row: 7 times slower, measured), and ``archive search``
    # reads the rows not indexed yet directly; edits by other tools are kept in step by these.
    """CREATE TRIGGER filings_deleted AFTER DELETE ON filings BEGIN
    DELETE FROM search WHERE rowid = old.seq;
END""",
    """CREATE TRIGGER filings_renamed AFTER UPDATE OF company, description ON filings BEGIN
    UPDATE search SET company = new.company, description = new.description
    WHERE rowid = new.seq;
END""",
)

#: --text: the words of each item and exhibit, compressed (zlib: 2.2x smaller on the demo's 8-Ks,
#: bench/TEXT.md), and a full-text index of them that keeps no copy (``content=''``): ``archive
#: search`` finds filings by what they say.
TEXTS = (
    """CREATE TABLE texts (
    accession_no TEXT NOT NULL REFERENCES filings (accession_no),
    part TEXT NOT NULL,               -- 'item 5.02', 'EX-99.1'
    words INTEGER NOT NULL,
    body BLOB NOT NULL,               -- the text, zlib-compressed: zlib.decompress(body)
    PRIMARY KEY (accession_no, part)
)""",
    "CREATE VIRTUAL TABLE text_search USING fts5 (body, content='')",
)
CREATE = (*CREATE, *TEXTS)

#: Version n to n + 1, applied in one transaction each.
MIGRATIONS: dict[int, tuple[str, ...]] = {1: TEXTS}

#: The columns of a filing row as the writer inserts them.
COLUMNS = (
    "accession_no",
    "form",
    "cik",
    "company",
    "ticker",
    "description",
    "filing_date",
    "accepted_time",
    "discovered_time",
    "is_historical",
    "extra",
    "archived_time",
)


def _problem(path: Path | str, exc: sqlite3.Error) -> ArchiveError:
    reason = str(exc)
    if "file is not a database" in reason or "malformed" in reason:
        return ArchiveError(f"{path} is not a secfeed archive (not an SQLite database)")
    if "readonly" in reason:
        return ArchiveError(f"cannot write archive {path}: it is read-only")
    if "unable to open" in reason:
        folder = Path(path).parent
        if not folder.is_dir():
            return ArchiveError(f"cannot create archive {path}: there is no folder {folder}")
        return ArchiveError(f"cannot open archive {path}: {reason} (can its folder be written?)")
    return ArchiveError(f"cannot use archive {path}: {reason}")


def open_for_writing(path: str) -> sqlite3.Connection:
    """The archive at ``path``, created if missing, migrated to :data:`VERSION`, in WAL mode;
    ArchiveError (one line) if it cannot be: not a database, a newer schema, read-only."""
    try:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0)
    except sqlite3.Error as exc:
        raise _problem(path, exc) from None
    try:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        version = _version(db, path)
        if version == 0:  # before the first table: 16 KiB pages take a burst 13% faster
            db.execute("PRAGMA page_size = 16384")
        _wal(db)
        db.execute("PRAGMA synchronous = NORMAL")  # WAL: a process killed loses nothing
        db.execute("BEGIN IMMEDIATE")  # also the check that it can be written at all
        try:
            version = _version(db, path)  # another writer may have made it meanwhile
            if version == 0 and not _tables(db):
                for statement in CREATE:
                    db.execute(statement)
            elif version == 0:
                raise ArchiveError(f"{path} is an SQLite database but not a secfeed archive")
            else:
                for step in range(version, VERSION):
                    for statement in MIGRATIONS[step]:
                        db.execute(statement)
            db.execute(f"PRAGMA user_version = {VERSION}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # SQLite ends a transaction itself on some errors
                db.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        db.close()
        raise _problem(path, exc) from None
    except ArchiveError:
        db.close()
        raise
    return db


def _wal(db: sqlite3.Connection) -> None:
    """Into WAL mode. Switching takes the file to itself for a moment, and SQLite answers
    "database is locked" at once, busy timeout or not, when another process is opening or
    creating the same new archive then (seen: 57 of 150 rounds of three processes): asked
    again until the busy timeout is over."""
    import time

    give_up = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            if db.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal":
                return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= give_up:
                raise
        if time.monotonic() >= give_up:
            raise sqlite3.OperationalError("database is locked")
        time.sleep(0.01)


def open_for_reading(path: str) -> sqlite3.Connection:
    """The archive at ``path`` read-only (``mode=ro``: no statement can change it); it must
    exist and be one this secfeed knows: its version, and its tables, as tables (not views)
    with our columns. No statement can attach another file or write one (ATTACH, VACUUM
    INTO), and a statement read within :func:`stoppable` is stopped by a signal."""
    from urllib.parse import quote

    if not Path(path).is_file():
        raise ArchiveError(f"no archive at {path}")
    try:
        db = sqlite3.connect(
            f"file:{quote(path)}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA query_only = 1")
        db.set_authorizer(_no_other_files)
        version = _version(db, path)
        if version == 0:
            raise ArchiveError(f"{path} is not a secfeed archive (no schema version)")
        _check_tables(db, path, version)
        db.set_progress_handler(_stop_on_signal, 10_000)
    except sqlite3.Error as exc:
        raise _problem(path, exc) from None
    return db


def _no_other_files(action: int, *_: object) -> int:
    """The reader's authorizer: nothing that opens or creates another database file."""
    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


_COLUMNS: dict[str, list[str]] = {}


def _ours() -> dict[str, list[str]]:
    """Our tables and their columns, as this secfeed creates them (read off a database in
    memory made with :data:`CREATE`, once)."""
    if not _COLUMNS:
        mem = sqlite3.connect(":memory:")
        try:
            for statement in CREATE:
                mem.execute(statement)
            for (name,) in mem.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE"
                " 'CREATE VIRTUAL%' AND name NOT LIKE 'search_%' AND name NOT LIKE 'sqlite_%'"
                " AND name NOT LIKE 'text_search_%'"
            ).fetchall():
                _COLUMNS[name] = [r[1] for r in mem.execute(f"PRAGMA table_xinfo({name})")]
        finally:
            mem.close()
    return _COLUMNS


#: Tables that came with a later version than 1: an older archive, read as it is, has none.
SINCE = {"texts": 2, "text_search": 2}


def _check_tables(db: sqlite3.Connection, path: str, version: int = VERSION) -> None:
    """Each of our tables is a table with our columns: a view, or a table of other columns,
    in their place would make every read something else (a view can run for ever)."""
    kinds = dict(db.execute("SELECT name, type FROM sqlite_master").fetchall())
    for name, columns in _ours().items():
        if SINCE.get(name, 1) > version:
            continue
        if kinds.get(name) != "table":
            what = "missing" if name not in kinds else f"a {kinds[name]}, not a table"
            raise ArchiveError(f"{path} is not a secfeed archive: its {name} is {what}")
        have = [r[1] for r in db.execute(f"PRAGMA table_xinfo({name})")]
        if have != columns:
            raise ArchiveError(f"{path} is not a secfeed archive: its {name} has other columns")
    if kinds.get("search") != "table":
        raise ArchiveError(f"{path} is not a secfeed archive: its search index is not a table")
    if version >= SINCE["text_search"] and kinds.get("text_search") != "table":
        raise ArchiveError(f"{path} is not a secfeed archive: its text index is not a table")


def _stop_on_signal() -> int:
    """The progress handler: SQLite calls it every few thousand steps of a statement, and it
    stops the statement once a signal has arrived (held by :func:`stoppable`)."""
    return 0 if signals.pending() is None else 1


@contextmanager
def stoppable(db: sqlite3.Connection) -> Iterator[None]:
    """Statements on ``db`` within can be stopped by a signal, however long SQLite would run
    (in C, where Python's own handlers cannot run): the signal is held while SQLite runs,
    the progress handler stops the statement, and the signal's exception (KeyboardInterrupt,
    Terminated) is raised as the block ends, in place of SQLite's "interrupted"."""
    with signals.writes_complete():
        try:
            yield
        except sqlite3.Error:
            if signals.pending() is None:
                raise
            # stopped for the signal: writes_complete raises its exception as it ends


def _version(db: sqlite3.Connection, path: Path | str) -> int:
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > VERSION:
        raise ArchiveError(
            f"archive {path} has schema version {version}; this secfeed knows up to"
            f" {VERSION}: upgrade secfeed to use it"
        )
    return version


def _tables(db: sqlite3.Connection) -> list[str]:
    return [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
