"""`secfeed snapshot` as cron runs it: subprocesses, real files, exit codes, the state file."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from secfeed_cli.emulator.server import Emulator

from .conftest import ROOT, accessions, ndjson, secfeed, secfeed_popen
from .patience import WAIT

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
        proc.communicate(timeout=WAIT)
    assert proc.returncode == 143
    assert out.read_bytes() == OLD and leftovers(tmp_path) == []


def test_state_file_writes_only_new_filings(emulator_factory: Factory, tmp_path: Path) -> None:
    em = emulator_factory(backlog=40)
    state = tmp_path / "state.json"
    first, second, third = (tmp_path / n for n in ("1.ndjson", "2.ndjson", "3.ndjson"))
    res = secfeed("snapshot", "--url", em.url, "--state", str(state), "-o", str(first))
    assert res.returncode == 0, res.stderr
    assert accessions(ndjson(first.read_bytes())) == backlog_ids(em, 40)
    assert res.stderr == b"", "from cron (no terminal), success is silent: cron mails output"

    new = [p.accession_no for p in em.publish(3)]
    res = secfeed("snapshot", "--url", em.url, "--state", str(state), "-o", str(second), "-v")
    assert res.returncode == 0, res.stderr
    assert accessions(ndjson(second.read_bytes())) == new
    assert f"wrote 3 new filings to {second} (37 already written)".encode() in res.stderr

    # Nothing new: an empty file, or with --skip-empty the old file is left as it was.
    res = secfeed("snapshot", "--url", em.url, "--state", str(state), "-o", str(third))
    assert res.returncode == 0 and third.read_bytes() == b""
    third.write_bytes(OLD)
    res = secfeed(
        "snapshot", "--url", em.url, "--state", str(state), "-o", str(third), "--skip-empty"
    )
    assert res.returncode == 0 and third.read_bytes() == OLD
    assert res.stderr == b""
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
    # One line, then the exit: no "Exception ignored ... BrokenPipeError" from the
    # interpreter's last flush of a stdout whose reader is gone.
    said = res.stderr.decode().splitlines()
    assert said == [
        "secfeed: error: the output pipe closed before the snapshot was complete",
        "exit: 1",
    ], said
    assert not state.exists()


# ---- what -o and --state name ----------------------------------------------------------------


def test_a_symlink_keeps_pointing_at_its_target_which_is_replaced(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    em = emulator_factory(backlog=5)
    target = tmp_path / "real" / "filings.ndjson"
    target.parent.mkdir()
    target.write_bytes(OLD)
    link = tmp_path / "latest.ndjson"
    link.symlink_to(target)
    res = secfeed("snapshot", "--url", em.url, "-o", str(link))
    assert res.returncode == 0, res.stderr
    assert link.is_symlink() and link.resolve() == target
    assert accessions(ndjson(target.read_bytes())) == backlog_ids(em, 5)
    assert leftovers(tmp_path) == [] and leftovers(target.parent) == []


def test_a_fifo_is_written_directly_not_replaced(emulator_factory: Factory, tmp_path: Path) -> None:
    import os
    import stat
    import threading

    em = emulator_factory(backlog=5)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    res = secfeed("snapshot", "--url", em.url, "-o", str(fifo))
    reader.join(timeout=WAIT)
    assert res.returncode == 0, res.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert accessions(ndjson(got[0])) == backlog_ids(em, 5)


def test_a_character_device_stays_a_device(emulator_factory: Factory, tmp_path: Path) -> None:
    import os
    import stat

    import pytest

    if os.geteuid() != 0:
        pytest.skip("making a device node needs root")
    full = tmp_path / "full"  # our own node for /dev/full's device: the real one is not risked
    os.mknod(full, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    em = emulator_factory(backlog=5)
    res = secfeed("snapshot", "--url", em.url, "-o", str(full))
    assert res.returncode == 1
    assert b"No space left on device" in res.stderr and len(res.stderr.splitlines()) <= 3
    assert stat.S_ISCHR(os.stat(full).st_mode)
    assert leftovers(tmp_path) == []


def _run_with(*args: str, umask: int | None = None, fsize: int | None = None) -> Any:
    import os
    import resource
    import subprocess
    import sys

    from .conftest import ROOT, cli_env

    def limits() -> None:
        if umask is not None:
            os.umask(umask)
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run(
        [sys.executable, "-m", "secfeed_cli", *args],
        capture_output=True,
        timeout=30,
        env=cli_env(),
        cwd=ROOT,
        preexec_fn=limits,
    )


def test_modes_follow_the_existing_file_or_the_umask(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    import stat

    em = emulator_factory(backlog=5)
    new_out, new_state = tmp_path / "new.ndjson", tmp_path / "new.state"
    res = _run_with(
        "snapshot", "--url", em.url, "-o", str(new_out), "--state", str(new_state), umask=0o027
    )
    assert res.returncode == 0, res.stderr
    assert stat.S_IMODE(new_out.stat().st_mode) == 0o640  # 0666 less the umask
    assert stat.S_IMODE(new_state.stat().st_mode) == 0o640
    other = tmp_path / "other.ndjson"
    res = _run_with("snapshot", "--url", em.url, "-o", str(other), umask=0o002)
    assert res.returncode == 0, res.stderr
    assert stat.S_IMODE(other.stat().st_mode) == 0o664  # never executable
    assert (tmp_path / "new.state.lock").exists()  # the state's lock sits beside it

    old_out, old_state = tmp_path / "old.ndjson", tmp_path / "old.state"
    old_out.write_bytes(OLD)
    old_out.chmod(0o604)
    res = _run_with("snapshot", "--url", em.url, "-o", str(old_out), "--state", str(old_state))
    assert res.returncode == 0, res.stderr
    old_state.chmod(0o664)
    res = _run_with("snapshot", "--url", em.url, "-o", str(old_out), "--state", str(old_state))
    assert res.returncode == 0, res.stderr
    assert stat.S_IMODE(old_out.stat().st_mode) == 0o604
    assert stat.S_IMODE(old_state.stat().st_mode) == 0o664


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_a_replaced_file_keeps_its_owner(emulator_factory: Factory, tmp_path: Path) -> None:
    em = emulator_factory(backlog=5)
    out = tmp_path / "theirs.ndjson"
    out.write_bytes(OLD)
    os.chown(out, 4321, 4322)
    res = secfeed("snapshot", "--url", em.url, "-o", str(out), "-v")
    assert res.returncode == 0, res.stderr
    assert (out.stat().st_uid, out.stat().st_gid) == (4321, 4322)
    assert len(ndjson(out.read_bytes())) == 5
    assert b"wrote 5 filings to " in res.stderr
    res = secfeed("snapshot", "--url", em.url, "-n", "1", "-v")
    assert b"wrote 1 filing to standard output" in res.stderr


def test_output_and_state_naming_the_same_file_is_a_usage_error(tmp_path: Path) -> None:
    same = tmp_path / "x"
    link = tmp_path / "link"
    link.symlink_to(same)
    res = secfeed("snapshot", "--url", "ws://127.0.0.1:9", "-o", str(same), "--state", str(link))
    assert res.returncode == 2
    assert b"name the same file" in res.stderr


@pytest.mark.parametrize(
    "content",
    [
        b"\xff\xfe not utf-8",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"version": 1, "accessions": 5}',
        b'{"version": 1, "accessions": [1, 2]}',
        b"[]",
        b'"text"',
    ],
    ids=["not-utf8", "deeply-nested", "not-a-list", "not-accessions", "array", "string"],
)
def test_a_state_file_of_any_other_kind_is_one_clear_error(tmp_path: Path, content: bytes) -> None:
    state = tmp_path / "state"
    state.write_bytes(content)
    res = secfeed("snapshot", "--url", "ws://127.0.0.1:9", "--state", str(state))
    err = res.stderr.decode()
    assert res.returncode == 1, err
    assert "is not a secfeed state file" in err and len(err.splitlines()) == 1
    assert state.read_bytes() == content


def test_a_state_that_cannot_be_saved_after_the_output_is_one_clear_error(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    em = emulator_factory(backlog=5)
    state = tmp_path / "state"
    # Standard output is a pipe and /dev/null a device: only the state is a file the size
    # limit applies to (Python ignores SIGXFSZ, so the write fails with EFBIG).
    res = _run_with("snapshot", "--url", em.url, "--state", str(state), fsize=16)
    err = res.stderr.decode()
    assert res.returncode == 1, err
    assert "wrote 5 filings to standard output, but could not save the state" in err
    assert "the next run will write them again" in err and "internal error" not in err
    assert len(ndjson(res.stdout)) == 5  # the output was committed first
    assert not state.exists() and leftovers(tmp_path) == []


def test_two_runs_on_one_state_take_turns(emulator_factory: Factory, tmp_path: Path) -> None:
    import socket

    from .rawserver import RawServer, drain, filing_frame, upgrade

    def never_complete(sock: socket.socket, n: int) -> None:
        upgrade(sock)
        sock.sendall(filing_frame(1))  # no heartbeat: the backlog is never complete
        drain(sock)

    slow = RawServer(never_complete)
    em = emulator_factory(backlog=5)
    state = tmp_path / "state"
    try:
        with secfeed_popen("snapshot", "--url", slow.url, "--state", str(state)) as first:
            slow.wait(lambda: slow.connections == 1)  # it holds the lock before connecting
            busy = secfeed("snapshot", "--url", em.url, "--state", str(state), "--timeout", "1")
            assert busy.returncode == 6, busy.stderr
            assert b"another secfeed is using" in busy.stderr
            assert busy.stdout == b""
            with secfeed_popen(
                "snapshot", "--url", em.url, "--state", str(state), "--timeout", "30"
            ) as second:
                first.send_signal(signal.SIGTERM)  # the first run ends: the second goes on
                out, err = second.communicate(timeout=WAIT)
            first.communicate(timeout=WAIT)
        assert first.returncode == 143
        assert second.returncode == 0, err
        assert accessions(ndjson(out)) == backlog_ids(em, 5)
    finally:
        slow.close()


def test_sighup_ends_a_snapshot_and_removes_its_temporary_file(tmp_path: Path) -> None:
    import socket

    from .rawserver import RawServer, drain, filing_frame, upgrade

    def never_complete(sock: socket.socket, n: int) -> None:
        upgrade(sock)
        sock.sendall(filing_frame(1))
        drain(sock)

    server = RawServer(never_complete)
    out = tmp_path / "out.ndjson"
    try:
        with secfeed_popen("snapshot", "--url", server.url, "-o", str(out)) as proc:
            server.wait(lambda: server.connections == 1)  # the temp file exists by now
            assert len(leftovers(tmp_path)) == 1
            proc.send_signal(signal.SIGHUP)
            proc.communicate(timeout=WAIT)
        assert proc.returncode == 129
        assert leftovers(tmp_path) == [] and not out.exists()
    finally:
        server.close()


@pytest.mark.parametrize("name", ["-", "/dev/stdout"])
def test_output_dash_and_dev_stdout_are_standard_output(
    emulator_factory: Callable[..., Emulator], name: str
) -> None:
    em = emulator_factory(backlog=4)
    stray = ROOT / "-"
    res = secfeed("snapshot", "--url", em.url, "-o", name)  # stdout is a pipe here
    made = stray.exists()
    stray.unlink(missing_ok=True)
    assert res.returncode == 0, res.stderr
    assert len(ndjson(res.stdout)) == 4
    assert not made, "no file named '-'"


def test_no_heartbeat_is_honoured_the_backlog_ends_when_the_feed_is_quiet(
    emulator_factory: Factory,
) -> None:
    em = emulator_factory(backlog=40)
    res = secfeed("snapshot", "--url", em.url, "--no-heartbeat")
    assert res.returncode == 0, res.stderr
    assert accessions(ndjson(res.stdout)) == backlog_ids(em, 40)
    em.wait_for("disconnect", conn=1)  # the server has read all the client sent
    assert [e.name for e in em.history()].count("hello") == 0  # no heartbeats asked for
    res = secfeed("snapshot", "--url", em.url)
    em.wait_for("disconnect", conn=2)
    assert [e.name for e in em.history()].count("hello") == 1


def test_tails_format_in_the_environment_or_config_leaves_snapshot_at_ndjson(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    """SECFEED_FORMAT and a top-level ``format`` serve every command: tail's ``table`` there
    must not fail a cron snapshot. A format snapshot has not, named for it, still does."""
    from .conftest import cli_env

    em = emulator_factory(backlog=5)
    for value in ("table", "auto"):
        res = secfeed("snapshot", "--url", em.url, env=cli_env(SECFEED_FORMAT=value))
        assert res.returncode == 0, res.stderr
        assert len(ndjson(res.stdout)) == 5
    res = secfeed("snapshot", "--url", em.url, env=cli_env(SECFEED_FORMAT="csv"))
    assert res.stdout.startswith(b"accession_no,form,")
    res = secfeed("snapshot", "--url", em.url, env=cli_env(SECFEED_FORMAT="tabel"))
    assert res.returncode == 2 and b"SECFEED_FORMAT" in res.stderr
    config = tmp_path / "config.toml"
    config.write_text('format = "table"\n')
    res = secfeed("snapshot", "--url", em.url, "--config", str(config))
    assert res.returncode == 0 and len(ndjson(res.stdout)) == 5
    config.write_text('[snapshot]\nformat = "table"\n')
    res = secfeed("snapshot", "--url", em.url, "--config", str(config))
    assert res.returncode == 2 and b"key 'format': 'table' is not one of" in res.stderr
    res = secfeed("snapshot", "--url", em.url, "-f", "table")
    assert res.returncode == 2
