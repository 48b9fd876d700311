"""`--archive PATH`, `--from PATH` and `secfeed archive`: real SQLite files, the emulator over
loopback, the real CLI (in-process where it can, in subprocesses for kills and concurrency)."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from secfeed_cli.archive.schema import COLUMNS, VERSION
from secfeed_cli.emulator.server import Emulator
from secfeed_cli.output.records import COLUMNS as OUTPUT_COLUMNS

from .conftest import accessions, cli_env, ndjson, secfeed, secfeed_popen, secfeed_process
from .patience import WAIT

Factory = Callable[..., Emulator]
UA = "secfeed tests tests@localhost"


def rows(path: Path, sql: str = "SELECT * FROM filings ORDER BY seq") -> list[sqlite3.Row]:
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def one(path: Path, sql: str) -> Any:
    return rows(path, sql)[0][0]


def whole(path: Path) -> int:
    """The archive is sound and holds whole filings only; returns how many."""
    assert one(path, "PRAGMA integrity_check") == "ok"
    nullable = ("company", "ticker", "extra", "discovered_time")  # discovered: null, --backfill
    nulls = " OR ".join(f"{c} IS NULL" for c in COLUMNS if c not in nullable)
    assert one(path, f"SELECT count(*) FROM filings WHERE {nulls}") == 0
    count: int = one(path, "SELECT count(*) FROM filings")
    assert one(path, "SELECT count(DISTINCT accession_no) FROM filings") == count
    # The search index covers the oldest rows, each once: the newest may wait for the writer.
    indexed = one(path, "SELECT count(*) FROM search")
    assert indexed == one(path, "SELECT coalesce(max(rowid), 0) FROM search") <= count
    return count


def test_the_archive_keeps_the_output_schemas_fields(tmp_path: Path) -> None:
    from secfeed_cli.archive.schema import open_for_writing

    open_for_writing(str(tmp_path / "a.db")).close()
    table = [r[1] for r in rows(tmp_path / "a.db", "PRAGMA table_xinfo(filings)")]
    assert [c for c in table if c in OUTPUT_COLUMNS] == list(OUTPUT_COLUMNS)
    assert set(COLUMNS) <= set(table)


def test_every_filing_received_is_kept_once_whatever_the_run_shows(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    em = emulator_factory(backlog=60)
    path = tmp_path / "filings.db"
    shown = secfeed(
        "tail", "--url", em.url, "--backlog-only", "--form", "8-K", "--archive", str(path)
    )
    assert shown.returncode == 0, shown.stderr
    printed = ndjson(shown.stdout)
    assert 0 < len(printed) < 60 and all(r["form"] == "8-K" for r in printed)
    assert whole(path) == 60  # before the filters: all of them
    again = secfeed("snapshot", "--url", em.url, "--archive", str(path), "-v")
    assert again.returncode == 0
    assert b"0 filings added, 60 already there" in again.stderr
    assert whole(path) == 60
    # Each row is the filing as the NDJSON output has it, field for field.
    everything = {r["accession_no"]: r for r in ndjson(again.stdout)}
    for row in rows(path):
        record = everything[row["accession_no"]]
        for column in OUTPUT_COLUMNS:
            value = row[column]
            assert (bool(value) if column == "is_historical" else value) == record[column]


def test_two_writers_at_once_keep_each_filing_once(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    em = emulator_factory(backlog=0, firehose=20_000)
    path = tmp_path / "filings.db"
    args = ("tail", "--url", em.url, "--backlog-only", "-q", "--archive", str(path))
    writers = [secfeed_popen(*args, stdout=subprocess.DEVNULL) for _ in range(2)]
    for proc in writers:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert whole(path) == 20_000


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_mid_burst_leaves_whole_filings_and_the_next_run_completes_it(
    emulator_factory: Factory, tmp_path: Path, seed: int
) -> None:
    n = 30_000
    em = emulator_factory(backlog=0, firehose=n)
    path = tmp_path / "filings.db"
    args = ("tail", "--url", em.url, "--backlog-only", "-q", "--archive", str(path))
    proc = secfeed_popen(*args)
    assert proc.stdout is not None
    at = random.Random(seed).randrange(1, n)  # the line after which it is killed
    for _ in range(at):
        assert proc.stdout.readline()
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=WAIT)
    kept = whole(path)
    assert kept <= n
    done = secfeed_process(*args)
    assert done.returncode == 0, done.stderr
    assert whole(path) == n


def test_from_an_archive_reads_it_then_follows_what_is_appended(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    em = emulator_factory(backlog=10)
    path = tmp_path / "filings.db"
    assert secfeed("snapshot", "--url", em.url, "--archive", str(path)).returncode == 0
    reader = secfeed_popen("tail", "--from", str(path), "-f", "ndjson")
    assert reader.stdout is not None
    try:
        backlog = [json.loads(reader.stdout.readline()) for _ in range(10)]
        assert all(r["is_historical"] for r in backlog)
        assert accessions(backlog) == [r["accession_no"] for r in rows(path)]
        new = [p.accession_no for p in em.publish(3)]
        wrote = secfeed("tail", "--url", em.url, "--backlog-only", "--archive", str(path))
        assert wrote.returncode == 0
        followed = [json.loads(reader.stdout.readline()) for _ in range(3)]
        assert accessions(followed) == new
        # Each as the writer printed it (a backlog filing there), but live here.
        printed = {r["accession_no"]: r for r in ndjson(wrote.stdout)}
        for record in followed:
            assert record == {**printed[record["accession_no"]], "is_historical": False}
    finally:
        reader.send_signal(signal.SIGTERM)
        _, err = reader.communicate(timeout=WAIT)
    assert reader.returncode == 143, err
    # --backlog-only, snapshot, -n and the filters read it as they read the feed.
    res = secfeed("snapshot", "--from", str(path), "-n", "2")
    assert accessions(ndjson(res.stdout)) == new[1:]
    res = secfeed("tail", "--from", str(path), "--backlog-only", "--form", "8-K")
    assert all(r["form"] == "8-K" for r in ndjson(res.stdout))


def test_a_query_is_read_only_and_a_search_finds_words(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    em = emulator_factory(backlog=40)
    path = tmp_path / "filings.db"
    assert secfeed("snapshot", "--url", em.url, "--archive", str(path)).returncode == 0
    for sql in ("DELETE FROM filings", "SELECT 1; DELETE FROM filings", "DROP TABLE search"):
        res = secfeed("archive", "query", str(path), sql)
        assert res.returncode == 2, sql
        said = res.stderr.decode().splitlines()[-1]
        assert said.startswith("Error: archive query: ") and b"Traceback" not in res.stderr
        if sql.startswith(("DELETE", "DROP")):
            assert said.endswith("the archive is opened read-only: a query cannot change it")
    assert whole(path) == 40
    res = secfeed(
        "archive", "query", str(path), "SELECT form, count(*) AS n FROM filings GROUP BY form"
    )
    counted = ndjson(res.stdout)
    assert sum(r["n"] for r in counted) == 40 and set(counted[0]) == {"form", "n"}
    res = secfeed("archive", "query", str(path), "SELECT accession_no FROM filings", "-f", "csv")
    assert res.stdout.decode().splitlines()[0] == "accession_no"
    company, accession = rows(path, "SELECT company, accession_no FROM filings LIMIT 1")[0]
    word = company.split()[0].strip(",.")
    found = ndjson(secfeed("archive", "search", str(path), word).stdout)
    assert accession in accessions(found)
    assert all(word.lower() in (r["company"] + r["description"]).lower() for r in found)
    none = secfeed("archive", "search", str(path), word, "zzzqqq")
    assert none.stdout == b"" and none.returncode == 1  # no match: 1, as grep
    assert secfeed("archive", "search", str(path), word).returncode == 0
    stats = secfeed("archive", "stats", str(path)).stdout.decode()
    assert "filings: 40 (0 with details)" in stats and "by form:" in stats


def test_details_are_kept_in_their_own_tables_and_items_are_searchable(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    em = emulator_factory(backlog=0, edgar=True)
    path = tmp_path / "filings.db"
    res = secfeed(
        "tail",
        "--url",
        em.url,
        "--backlog-only",
        "-n",
        "8",
        "--details",
        "--user-agent",
        UA,
        "--edgar-url",
        em.url.replace("ws://", "http://"),
        "--archive",
        str(path),
        env=cli_env(XDG_CACHE_HOME=str(tmp_path / "cache")),
    )
    assert res.returncode == 0, res.stderr
    shown = {r["accession_no"]: r["details"] for r in ndjson(res.stdout)}
    ok = {a: d for a, d in shown.items() if d["status"] == "ok"}
    assert ok
    kept = {
        r["accession_no"]: json.loads(r["document"]) for r in rows(path, "SELECT * FROM details")
    }
    assert kept == ok
    owners = rows(path, "SELECT * FROM owners")
    trades = rows(path, "SELECT * FROM transactions")
    items = rows(path, "SELECT * FROM items")
    assert owners and trades and items
    for t in trades:
        d = kept[t["accession_no"]]["transactions"][t["position"]]
        assert (t["code"], t["shares"], t["price"]) == (d["code"], d["shares"], d["price"])
    item = items[0]
    word = item["name"].split()[0]
    found = ndjson(secfeed("archive", "search", str(path), item["item"], word).stdout)
    assert item["accession_no"] in accessions(found)
    # items as details.items has them: an array of codes, not "7.01 9.01"
    hit = next(r for r in found if r["accession_no"] == item["accession_no"])
    assert hit["items"] == kept[item["accession_no"]]["items"]
    # Read back, the details come along.
    back = ndjson(secfeed("snapshot", "--from", str(path)).stdout)
    assert {r["accession_no"]: r.get("details") for r in back if "details" in r} == ok


def test_a_newer_schema_or_another_database_is_one_line_and_exit_7(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    em = emulator_factory(backlog=5)
    path = tmp_path / "filings.db"
    assert secfeed("snapshot", "--url", em.url, "--archive", str(path)).returncode == 0
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {VERSION + 1}")
    db.close()
    want = f"has schema version {VERSION + 1}; this secfeed knows up to {VERSION}"
    for args in (
        ("tail", "--url", em.url, "--backlog-only", "--archive", str(path)),
        ("tail", "--from", str(path)),
        ("archive", "stats", str(path)),
    ):
        res = secfeed(*args)
        assert res.returncode == 7, args
        assert res.stderr.decode().count("\n") == 1 and want in res.stderr.decode()
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    res = secfeed("tail", "--url", em.url, "--archive", str(other))
    assert res.returncode == 7 and b"is an SQLite database but not a secfeed archive" in res.stderr
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all, just some words that fill a page" * 40)
    res = secfeed("tail", "--from", str(text))
    assert res.returncode == 7 and b"is not a secfeed archive" in res.stderr
    assert text.read_text().startswith("not a database")


@pytest.mark.parametrize("room", [64 << 10, 2 << 20])  # full at creation, or mid-burst
def test_a_full_disk_stops_the_run_with_one_line_and_exit_7(
    emulator_factory: Factory, tmp_path: Path, room: int
) -> None:
    import resource
    import sys

    em = emulator_factory(backlog=0, firehose=20_000)
    path = tmp_path / "filings.db"

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (room, room))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    res = subprocess.run(
        [sys.executable, "-m", "secfeed_cli", "tail", "--url", em.url, "--backlog-only"]
        + ["-q", "--archive", str(path)],
        capture_output=True,
        timeout=120,
        env=cli_env(),
        cwd=Path(__file__).parent.parent,
        preexec_fn=small_files,
    )
    err = res.stderr.decode()
    assert res.returncode == 7, err
    assert err.count("\n") == 1 and err.startswith("secfeed: error: cannot ")
    assert f"archive {path}: " in err and "full" in err
    if room > 1 << 20:
        assert 0 < whole(path) < 20_000


def _without_root_powers() -> None:
    """In the child, before exec: root ignores file modes while it has these capabilities
    (CI runs the tests as root); dropped from the bounding set, the CLI runs without them."""
    if os.geteuid() == 0:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
            if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.mark.parametrize("made", ["file", "folder", "no folder"])
def test_a_read_only_archive_is_one_line_and_exit_7(
    emulator_factory: Factory, tmp_path: Path, made: str
) -> None:
    import sys

    em = emulator_factory(backlog=20)
    folder = tmp_path / "archives"
    folder.mkdir()
    path = (folder / "none" if made == "no folder" else folder) / "filings.db"
    before = None
    if made == "file":
        assert secfeed("snapshot", "--url", em.url, "--archive", str(path)).returncode == 0
        path.chmod(0o444)
        before = path.read_bytes()
    elif made == "folder":
        folder.chmod(0o555)
    try:
        res = subprocess.run(
            [sys.executable, "-m", "secfeed_cli", "tail", "--url", em.url, "--backlog-only"]
            + ["--archive", str(path)],
            capture_output=True,
            timeout=60,
            env=cli_env(),
            cwd=Path(__file__).parent.parent,
            preexec_fn=_without_root_powers,
        )
    finally:
        folder.chmod(0o755)
    said = {
        "file": f"cannot write archive {path}: it is read-only",
        "folder": f"cannot open archive {path}: unable to open database file (can its folder",
        "no folder": f"cannot create archive {path}: there is no folder {path.parent}",
    }[made]
    err = res.stderr.decode()
    assert res.returncode == 7 and res.stdout == b"", err
    assert err.count("\n") == 1 and err.startswith(f"secfeed: error: {said}")
    if before is not None:
        assert path.read_bytes() == before and whole(path) == 20
    else:
        assert not path.exists()


def test_a_gap_since_the_archives_newest_filing_is_said(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    em = emulator_factory(backlog=10)
    path = tmp_path / "filings.db"
    first = secfeed("tail", "--url", em.url, "--backlog-only", "--archive", str(path))
    assert b"not in the archive" not in first.stderr
    again = secfeed("tail", "--url", em.url, "--backlog-only", "--archive", str(path))
    assert b"not in the archive" not in again.stderr  # the backlog overlaps it: no gap
    db = sqlite3.connect(path)
    db.execute("UPDATE filings SET discovered_time = '2026-01-05T10:00:00Z'")
    db.commit()
    db.close()
    em.publish(12)  # the next backlog is newer than anything archived
    res = secfeed("tail", "--url", em.url, "--backlog-only", "--archive", str(path))
    err = res.stderr.decode()
    assert "the archive's newest filing was discovered at 2026-01-05T10:00:00Z" in err
    assert "are not in the archive" in err


def test_the_config_file_names_the_archive(emulator_factory: Factory, tmp_path: Path) -> None:
    em = emulator_factory(backlog=3)
    config = tmp_path / "config.toml"
    config.write_text(f'archive = "{tmp_path / "a.db"}"\n')
    res = secfeed("tail", "--url", em.url, "--backlog-only", "--config", str(config))
    assert res.returncode == 0, res.stderr
    assert whole(tmp_path / "a.db") == 3


def test_rows_not_indexed_yet_are_found_and_a_writer_indexes_them(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    """Rows another tool inserted (or a burst the writer had no time to index) are searched
    directly; the next writer indexes them when the feed leaves it time."""
    em = emulator_factory(backlog=5)
    path = tmp_path / "filings.db"
    assert secfeed("snapshot", "--url", em.url, "--archive", str(path)).returncode == 0
    assert one(path, "SELECT count(*) FROM search") == 5
    db = sqlite3.connect(path)
    db.execute(
        "INSERT INTO filings (accession_no, form, cik, company, description, filing_date,"
        " accepted_time, discovered_time, is_historical, archived_time) VALUES"
        " ('0000000001-26-000001', '8-K', 1, 'Zyxwv Widgets% Inc', '8-K - Zyxwv Widgets',"
        " '2026-01-02', '2026-01-02', '2026-01-02T00:00:00Z', 0, '2026-01-02T00:00:00Z')"
    )
    db.commit()
    db.close()
    for words in (("zyxwv",), ("widgets%", "8-K"), ("ZYXWV",)):
        found = ndjson(secfeed("archive", "search", str(path), *words).stdout)
        assert accessions(found) == ["0000000001-26-000001"], words
    assert ndjson(secfeed("archive", "search", str(path), "zyxwv", "absent").stdout) == []
    for literal in ("zyxwv_", "widgets%%"):  # LIKE's wildcards are plain characters here
        assert ndjson(secfeed("archive", "search", str(path), literal).stdout) == []
    assert (
        secfeed("tail", "--url", em.url, "--backlog-only", "--archive", str(path)).returncode == 0
    )
    assert one(path, "SELECT count(*) FROM search") == 6
    found = ndjson(secfeed("archive", "search", str(path), "zyxwv").stdout)
    assert accessions(found) == ["0000000001-26-000001"]


def test_any_text_a_filing_can_hold_comes_back_as_it_went_in(tmp_path: Path) -> None:
    from secfeed_cli.archive.source import ArchiveSource
    from secfeed_cli.archive.writer import ArchiveWriter
    from secfeed_cli.feed.events import NewFilings
    from secfeed_cli.wire.filing import Filing

    texts = [
        "\x1b]0;title\x07 Inc",
        "Ünïcödé 株式会社 \u2028 \U0001f600",
        'quote " \\ back',
        "' OR 1=1 --",
    ]
    filings = [
        Filing(
            f"0000000001-26-00000{n}",
            "8-K",
            1,
            f"8-K - {text}",
            "2026-01-02",
            "2026-01-02",
            "2026-01-02T00:00:00.123456789Z",
            True,
            extra={"note": text, "n": [1, 2.5, None]},
        )
        for n, text in enumerate(texts)
    ]
    for filing, text in zip(filings, texts, strict=True):
        filing.who = (text, None)
    writer = ArchiveWriter(str(tmp_path / "a.db"))
    writer.add(filings)
    writer.close()
    source = ArchiveSource(str(tmp_path / "a.db"))
    back = next(e for e in source.events() if isinstance(e, NewFilings)).filings
    source.close()
    assert back == filings
    assert [f.who for f in back] == [f.who for f in filings]


# ---- --backfill: a gap filled from EDGAR's indexes (real captures, an http.server as EDGAR) --

INDEXES = Path(__file__).parent / "data" / "edgar" / "indexes"


def _atom(start: int) -> str:
    from secfeed_cli.archive.backfill import ATOM

    return ATOM.format(start=start)


def _listed(since: str) -> set[str]:
    from secfeed_cli.archive.backfill import parse_atom

    found = set()
    for start in (0, 100, 200):
        rows = parse_atom((INDEXES / f"getcurrent-start{start:04d}.xml").read_bytes())
        found |= {r.accession_no for r in rows if r.accepted_time >= since}
    return found


def _gap(em: Emulator, path: Path, since: str) -> None:
    """An archive whose newest filing is from ``since``, and a feed that has moved on."""
    assert secfeed("snapshot", "--url", em.url, "--archive", str(path)).returncode == 0
    db = sqlite3.connect(path)
    db.execute("UPDATE filings SET discovered_time = ?", (since,))
    db.commit()
    db.close()
    em.publish(12)


def _backfilled(em: Emulator, path: Path, edgar: str, *more: str) -> Any:
    """``tail --backlog-only --archive PATH --backfill`` against ``edgar``."""
    return secfeed(
        "tail", "--url", em.url, "--backlog-only", "--archive", str(path), "--backfill",
        "--user-agent", UA, "--edgar-url", edgar, *more,
    )  # fmt: skip


def test_backfill_fills_a_gap_from_the_latest_filings_feed(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    # The emulator plays EDGAR's indexes from the real captures (serve --edgar-indexes).
    em = emulator_factory(backlog=10, edgar_indexes=str(INDEXES))
    path = tmp_path / "filings.db"
    since = "2026-01-12T15:00:00Z"
    _gap(em, path, since)
    before = whole(path)
    res = _backfilled(em, path, em.url.replace("ws://", "http://"), "--edgar-rate", "10")
    err = res.stderr.decode()
    assert res.returncode == 0, err
    assert "asking EDGAR's indexes for them (--backfill)" in err
    filled = {
        r[0] for r in rows(path, "SELECT accession_no FROM filings WHERE discovered_time IS NULL")
    }
    assert filled == _listed(since) - {
        r["accession_no"] for r in rows(path) if r["discovered_time"] is not None
    }
    assert whole(path) == before + 10 + len(filled)  # the backlog: the newest 10
    asked = [e.detail for e in em.history() if e.name == "edgar"]
    assert asked[:3] == [_atom(0), _atom(100), _atom(200)]  # it stopped past the gap
    assert asked[3:] == ["/Archives/edgar/daily-index/2026/QTR1/form.20260112.idx"]  # a 404
    assert em.edgar_agents == {UA}
    row = rows(path, "SELECT * FROM filings WHERE accession_no = '0002074440-26-000002'")[0]
    assert (row["form"], row["cik"], row["accepted_time"]) == (
        "13F-HR",
        2074440,
        "2026-01-12T16:27:39Z",
    )
    assert (
        row["company"] == "Ryan Investment Management, Inc." and row["filing_date"] == "2026-01-12"
    )
    # Not seen live: --from replays only what the feed announced, and says so.
    back = secfeed("tail", "--from", str(path), "--backlog-only", "-v")
    assert len(ndjson(back.stdout)) == before + 10
    assert f"{len(filled):,} filings filled in from EDGAR's indexes" in back.stderr.decode()
    found = ndjson(secfeed("archive", "search", str(path), "Ryan", "Investment").stdout)
    assert "0002074440-26-000002" in accessions(found)


def test_backfill_can_be_seen_at_work_offline_against_the_emulators_own_edgar(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    """With --edgar and no captures, the emulator's EDGAR lists what its feed announced, as
    it stamped them: a gap left while secfeed was away is filled offline. (Its captured
    pages are of January 2026 and its filings of now: 0 filings listed, before.)"""
    em = emulator_factory(backlog=10, edgar=True)
    path = tmp_path / "filings.db"
    assert secfeed("snapshot", "--url", em.url, "--archive", str(path)).returncode == 0
    before = whole(path)
    away = datetime.now(timezone.utc) + timedelta(minutes=5)  # secfeed was away 5 minutes
    missed = [item.accession_no for item in em.publish(50, at=away)]
    res = _backfilled(em, path, em.url.replace("ws://", "http://"), "-v")
    err = res.stderr.decode()
    assert res.returncode == 0, err
    assert "asking EDGAR's indexes for them (--backfill)" in err
    assert "--backfill: 50 filings listed by EDGAR (1 pages" in err, err
    kept = {r["accession_no"]: r for r in rows(path)}
    assert set(missed) <= set(kept) and whole(path) == before + 50
    filled = [a for a in missed if kept[a]["discovered_time"] is None]
    assert len(filled) == 23, len(filled)  # the newest 27 came in the backlog (10 + --edgar's 17)


def test_backfill_stops_at_a_403_and_needs_an_archive_and_a_user_agent(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    from .test_edgar import RATE_PAGE, Sec

    sec = Sec()
    try:
        sec.routes[_atom(0)] = (200, (INDEXES / "getcurrent-start0000.xml").read_bytes())
        sec.routes[_atom(100)] = (403, RATE_PAGE)
        sec.routes[_atom(200)] = (200, (INDEXES / "getcurrent-start0200.xml").read_bytes())
        em = emulator_factory(backlog=10)
        path = tmp_path / "filings.db"
        _gap(em, path, "2026-01-12T15:00:00Z")
        res = _backfilled(em, path, sec.url)
        err = res.stderr.decode()
        assert res.returncode == 0, err
        assert "--backfill stopped: SEC answered 403" in err
        assert [p for p, _, _ in sec.seen] == [_atom(0), _atom(100)]  # nothing after the 403
    finally:
        sec.close()
    res = secfeed("tail", "--url", em.url, "--backfill", "--user-agent", UA)
    assert res.returncode == 2 and b"--backfill fills a gap in an archive" in res.stderr
    res = secfeed("tail", "--url", em.url, "--backfill", "--archive", str(path))
    assert res.returncode == 2 and b"--backfill reads EDGAR" in res.stderr


@pytest.mark.unit
def test_the_daily_form_index_and_the_feed_are_read_as_edgar_writes_them() -> None:
    from secfeed_cli.archive.backfill import parse_atom, parse_form_index
    from secfeed_cli.details.sgml import DetailsError

    daily = parse_form_index((INDEXES / "form.20200318.idx").read_bytes())
    assert len(daily) == 4084  # every row of the file (SOURCES.md: 4,084)
    first = daily[0]
    assert first.accession_no == "0001140361-20-006155" and first.form == "1-A"
    assert first.cik == 1806014 and first.company == "DLP Positive Note Fund LLC"
    assert first.filing_date == first.accepted_time == "2020-03-18"
    assert any(r.form == "SC 13D/A" for r in daily)  # form types with spaces
    feed = parse_atom((INDEXES / "getcurrent-start0000.xml").read_bytes())
    assert len(feed) == 100 and len({r.accession_no for r in feed}) == 73
    assert all(r.description.startswith(f"{r.form} - ") for r in feed)
    for bad in (b"<!DOCTYPE x [<!ENTITY a 'b'>]><feed/>", b"<rss/>", b"not xml"):
        with pytest.raises(DetailsError):
            parse_atom(bad)
    with pytest.raises(DetailsError):
        parse_form_index(b"some text\nwithout the header\n")


def test_a_day_of_the_gap_is_read_from_its_daily_index(tmp_path: Path) -> None:
    from datetime import date

    from secfeed_cli.archive.backfill import Backfill, Row
    from secfeed_cli.details.edgar import EdgarClient

    from .test_edgar import Sec

    sec = Sec()
    try:
        path = "/Archives/edgar/daily-index/2020/QTR1/form.20200318.idx"
        sec.routes[path] = (200, (INDEXES / "form.20200318.idx").read_bytes())
        got: list[Row] = []
        warned: list[str] = []
        fill = Backfill(EdgarClient(UA, sec.url, rate=10), got.extend, warned.append)
        fill._days(date(2020, 3, 17), date(2020, 3, 19))
        assert [p for p, _, _ in sec.seen] == [
            "/Archives/edgar/daily-index/2020/QTR1/form.20200319.idx",
            path,
            "/Archives/edgar/daily-index/2020/QTR1/form.20200317.idx",
        ]
        assert fill.days == 1 and not warned
        # Rows filed before the gap (EDGAR lists late releases under their old date) stay out.
        assert got and all(r.filing_date >= "2020-03-17" for r in got)
        assert len(got) < 4084
    finally:
        sec.close()


def _open_new(path: str, start: Any, said: Any) -> None:
    from secfeed_cli.archive.schema import open_for_writing
    from secfeed_cli.errors import ArchiveError

    start.wait()
    try:
        open_for_writing(path).close()
        said.put("ok")
    except ArchiveError as exc:
        said.put(str(exc))


def test_writers_opening_a_new_archive_at_once_all_get_it(tmp_path: Path) -> None:
    """Three processes creating one new archive at the same moment: SQLite answers "database
    is locked" at once to a switch into WAL mode (before: about one round in three failed)."""
    import multiprocessing

    fork = multiprocessing.get_context("fork")
    for n in range(40):
        path = str(tmp_path / f"a{n}.db")
        start, said = fork.Barrier(3), fork.Queue()
        procs = [fork.Process(target=_open_new, args=(path, start, said)) for _ in range(3)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(60)
        assert [said.get(timeout=WAIT) for _ in procs] == ["ok"] * 3, n
        assert one(Path(path), "PRAGMA journal_mode") == "wal"
