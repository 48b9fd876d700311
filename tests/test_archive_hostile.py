"""Archives that mean harm, and queries that never end (issue 40): a file whose tables are
not ours is refused before anything reads it; a signal stops any statement; rows stream, and
a closed pipe ends the query; nothing a query says can create a file."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from secfeed_cli.archive.schema import open_for_reading, stoppable
from secfeed_cli.emulator.server import Emulator
from secfeed_cli.errors import ArchiveError

from .conftest import secfeed, secfeed_popen
from .patience import WAIT

#: A statement that never ends and returns nothing while it runs.
FOREVER = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
#: One that never ends and returns rows all the while.
ENDLESS_ROWS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c"


@pytest.fixture
def archive(emulator_factory: Callable[..., Emulator], tmp_path: Path) -> Path:
    em = emulator_factory(backlog=20)
    path = tmp_path / "a.db"
    res = secfeed("tail", "--url", em.url, "--backlog-only", "--archive", str(path))
    assert res.returncode == 0, res.stderr
    return path


def _make_filings_a_view(path: Path) -> None:
    """The archive's filings table, put aside and replaced by a view that never ends."""
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE filings RENAME TO kept")
        db.execute(
            "CREATE VIEW filings AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1"
            " FROM c) SELECT k.* FROM c, kept k"
        )
    db.close()


@pytest.mark.parametrize(
    "args",
    [("tail", "--from", "{}", "--backlog-only"), ("archive", "stats", "{}")],
    ids=["tail --from", "archive stats"],
)
def test_a_view_in_place_of_a_table_is_refused_before_any_read(
    archive: Path, args: tuple[str, ...]
) -> None:
    _make_filings_a_view(archive)
    res = secfeed(*(a.format(archive) for a in args))
    assert res.returncode == 7, res.stderr
    assert f"{archive} is not a secfeed archive: its filings is a view, not a table".encode() in (
        res.stderr
    )


def test_a_table_of_other_columns_is_refused(archive: Path) -> None:
    with sqlite3.connect(archive) as db:
        db.execute("ALTER TABLE items ADD COLUMN surprise TEXT")
    db.close()
    with pytest.raises(ArchiveError, match="its items has other columns"):
        open_for_reading(str(archive))


def test_a_signal_stops_a_statement_that_would_never_end(archive: Path) -> None:
    """SQLite runs the statement in C, where Python's handlers cannot run: the signal is held,
    the progress handler stops the statement, and the signal's exception comes out of it in
    place of SQLite's "interrupted"."""
    from secfeed_cli.archive import schema
    from secfeed_cli.common import signals
    from secfeed_cli.errors import Terminated

    db = open_for_reading(str(archive))
    running = threading.Event()

    def noted() -> int:  # the event: SQLite is inside the statement
        running.set()
        return schema._stop_on_signal()

    db.set_progress_handler(noted, 10_000)

    def kill_once_running() -> None:
        if running.wait(WAIT):
            os.kill(os.getpid(), signal.SIGTERM)

    before = signal.signal(signal.SIGTERM, signals._handler)
    killer = threading.Thread(target=kill_once_running)
    try:
        killer.start()
        with pytest.raises(Terminated), stoppable(db):
            db.execute(FOREVER).fetchall()
    finally:
        killer.join(WAIT)
        signal.signal(signal.SIGTERM, before)
        db.close()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_query_that_never_ends_ends_on_a_signal(archive: Path, signum: int) -> None:
    proc = secfeed_popen("archive", "query", str(archive), ENDLESS_ROWS, "-f", "ndjson")
    assert proc.stdout is not None
    assert json.loads(proc.stdout.readline()) == {"x": 1}  # the rows stream: it is running
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == 128 + signum, err
    assert b"Traceback" not in err and b"internal error" not in err


def test_a_closed_pipe_ends_a_query_at_once(archive: Path) -> None:
    """``archive query ... | head -1``: the first row out at once, and the query ends when
    the reader has gone, however many rows it would give (it used to build them all first)."""
    proc = secfeed_popen("archive", "query", str(archive), ENDLESS_ROWS, "-f", "csv")
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline() == b"x\r\n"
    assert proc.stdout.readline() == b"1\r\n"
    proc.stdout.close()  # as head does
    assert proc.wait(timeout=WAIT) != 0
    err = proc.stderr.read()
    assert b"Traceback" not in err and b"internal error" not in err, err


@pytest.mark.parametrize(
    "sql",
    ["ATTACH '{}' AS other", "VACUUM INTO '{}'"],
    ids=["attach", "vacuum into"],
)
def test_a_query_cannot_create_a_file(archive: Path, tmp_path: Path, sql: str) -> None:
    target = tmp_path / "made.db"
    res = secfeed("archive", "query", str(archive), sql.format(target))
    assert res.returncode == 2, res.stderr
    assert not target.exists()


def test_a_table_shows_its_first_rows_without_reading_them_all(archive: Path) -> None:
    res = secfeed("archive", "query", str(archive), ENDLESS_ROWS, "-f", "table")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.decode().splitlines()
    assert lines[-1] == "... and more rows (the first 1,000 shown; -f ndjson or -f csv)"
    assert len(lines) == 1 + 1000 + 1


def test_a_copy_of_an_archive_reads_as_the_original(archive: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    shutil.copy(archive, copy)
    assert secfeed("archive", "stats", str(copy)).returncode == 0
