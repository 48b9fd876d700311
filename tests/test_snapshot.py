"""`secfeed snapshot` as cron runs it: subprocesses, real files, exit codes, the state file."""

from __future__ import annotations

import csv
import io
import json
import signal
from collections.abc import Callable
from pathlib import Path

from secfeed_cli.emulator.server import Emulator

from .conftest import accessions, ndjson, secfeed, secfeed_popen

Factory = Callable[..., Emulator]
OLD = b'{"old": "content"}\n'


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def backlog_ids(em: Emulator, n: int) -> list[str]:
    return [p.accession_no for p in em.feed.backlog(n)]


def test_writes_exactly_the_backlog_atomically(emulator_factory: Factory, tmp_path: Path) -> None:
    em = emulator_factory(backlog=120, rate=5)
    out = tmp_path / "filings.ndjson"
    out.write_bytes(OLD)
    res = secfeed("snapshot", "--url", em.url, "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert res.stdout == b""
    records = ndjson(out.read_bytes())
    assert len(records) == 120 and all(r["is_historical"] for r in records)
    assert leftovers(tmp_path) == []


def test_json_and_csv_formats(emulator_factory: Factory, tmp_path: Path) -> None:
    em = emulator_factory(backlog=30)
    res = secfeed("snapshot", "--url", em.url, "-f", "json", "-o", str(tmp_path / "a.json"))
    assert res.returncode == 0, res.stderr
    array = json.loads((tmp_path / "a.json").read_text())
    assert accessions(array) == backlog_ids(em, 30)
    res = secfeed("snapshot", "--url", em.url, "-f", "csv")  # to stdout
    rows = list(csv.DictReader(io.StringIO(res.stdout.decode(), newline="")))
    assert [r["accession_no"] for r in rows] == backlog_ids(em, 30)


def test_server_down_leaves_file_untouched(tmp_path: Path) -> None:
    out = tmp_path / "filings.ndjson"
    out.write_bytes(OLD)
    res = secfeed("snapshot", "--url", "ws://127.0.0.1:9", "--max-retries", "0", "-o", str(out))
    assert res.returncode == 4
    assert out.read_bytes() == OLD and leftovers(tmp_path) == []
    assert b"connection refused" in res.stderr and b"Traceback" not in res.stderr


def test_rejected_key_exits_3_and_leaves_file(emulator_factory: Factory, tmp_path: Path) -> None:
    em = emulator_factory(api_key="good")
    out = tmp_path / "f.ndjson"
    out.write_bytes(OLD)
    res = secfeed("snapshot", "--url", em.url, "--api-key", "bad", "-o", str(out))
    assert res.returncode == 3
    assert out.read_bytes() == OLD and leftovers(tmp_path) == []


def test_timeout_exits_4_when_the_backlog_never_completes(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    em = emulator_factory(backlog=50, stall_after=10)
    out = tmp_path / "f.ndjson"
    out.write_bytes(OLD)
    res = secfeed(
        "snapshot", "--url", em.url, "--timeout", "1.5", "--stall-timeout", "30", "-o", str(out)
    )
    assert res.returncode == 4
    assert b"not complete after 1.5 s" in res.stderr
    assert out.read_bytes() == OLD and leftovers(tmp_path) == []


def test_sigterm_mid_run_leaves_file_untouched(emulator_factory: Factory, tmp_path: Path) -> None:
    em = emulator_factory(backlog=50, stall_after=10)
    out = tmp_path / "f.ndjson"
    out.write_bytes(OLD)
    with secfeed_popen(
        "snapshot", "--url", em.url, "--stall-timeout", "30", "-o", str(out)
    ) as proc:
        em.wait_for("fault-stall")  # connected and part-way through the backlog
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    assert proc.returncode == 143
    assert out.read_bytes() == OLD and leftovers(tmp_path) == []


def test_state_file_writes_only_new_filings(emulator_factory: Factory, tmp_path: Path) -> None:
    em = emulator_factory(backlog=40)
    state = tmp_path / "state.json"
    first, second, third = (tmp_path / n for n in ("1.ndjson", "2.ndjson", "3.ndjson"))
    res = secfeed("snapshot", "--url", em.url, "--state", str(state), "-o", str(first))
    assert res.returncode == 0, res.stderr
    assert accessions(ndjson(first.read_bytes())) == backlog_ids(em, 40)

    new = [p.accession_no for p in em.publish(3)]
    res = secfeed("snapshot", "--url", em.url, "--state", str(state), "-o", str(second), "-v")
    assert res.returncode == 0, res.stderr
    assert accessions(ndjson(second.read_bytes())) == new
    assert b"37 already written" in res.stderr

    # Nothing new: an empty file, or with --skip-empty the old file is left as it was.
    res = secfeed("snapshot", "--url", em.url, "--state", str(state), "-o", str(third))
    assert res.returncode == 0 and third.read_bytes() == b""
    third.write_bytes(OLD)
    res = secfeed(
        "snapshot", "--url", em.url, "--state", str(state), "-o", str(third), "--skip-empty"
    )
    assert res.returncode == 0 and third.read_bytes() == OLD
    assert leftovers(tmp_path) == []


def test_state_is_not_updated_when_the_run_fails(emulator_factory: Factory, tmp_path: Path) -> None:
    em = emulator_factory(backlog=10)
    state = tmp_path / "state.json"
    secfeed("snapshot", "--url", em.url, "--state", str(state), "-o", str(tmp_path / "a"))
    before = state.read_bytes()
    em.publish(2)
    res = secfeed(
        "snapshot",
        "--url",
        em.url,
        "--state",
        str(state),
        "-o",
        str(tmp_path / "missing-dir" / "b"),
    )
    assert res.returncode == 1
    assert b"cannot write" in res.stderr and b"Traceback" not in res.stderr
    assert state.read_bytes() == before


def test_corrupt_state_file_is_a_clear_error(emulator_factory: Factory, tmp_path: Path) -> None:
    em = emulator_factory(backlog=3)
    state = tmp_path / "state.json"
    state.write_text("not json")
    res = secfeed("snapshot", "--url", em.url, "--state", str(state))
    assert res.returncode == 1
    assert b"is not a secfeed state file" in res.stderr and b"Traceback" not in res.stderr


def test_snapshot_into_a_pipe_closed_early_fails_and_keeps_state(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    import subprocess
    import sys

    from .conftest import ROOT, cli_env

    em = emulator_factory(backlog=3000)
    state = tmp_path / "state.json"
    script = (
        f"{sys.executable} -m secfeed_cli snapshot --url {em.url} --state {state} "
        '| true; echo "exit: ${PIPESTATUS[0]}" >&2'
    )  # the reader is gone before the snapshot (written whole, once complete) is written
    res = subprocess.run(
        ["bash", "-c", script], capture_output=True, timeout=60, env=cli_env(), cwd=ROOT
    )
    assert res.stdout == b""
    assert b"exit: 1" in res.stderr
    assert b"output pipe closed before the snapshot was complete" in res.stderr
    assert not state.exists()
