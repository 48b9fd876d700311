"""`tail --state FILE`: a restarted tail prints what it missed and nothing it printed before."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

from secfeed_cli.emulator.server import Emulator

from .conftest import accessions, ndjson, secfeed, secfeed_popen
from .patience import WAIT

Factory = Callable[..., Emulator]


def _read(proc: subprocess.Popen[bytes], n: int) -> list[str]:
    assert proc.stdout is not None
    return [json.loads(proc.stdout.readline())["accession_no"] for _ in range(n)]


def _held(state: Path) -> list[str]:
    data = json.loads(state.read_text())
    assert data["version"] == 1
    return list(data["accessions"])


def test_a_restarted_tail_prints_only_what_it_missed(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    em = emulator_factory(backlog=20)
    state = tmp_path / "tail.state"
    first = secfeed_popen("tail", "--url", em.url, "--state", str(state))
    printed = _read(first, 20)
    live = [p.accession_no for p in em.publish(3)]
    assert _read(first, 3) == live
    printed += live
    first.send_signal(signal.SIGTERM)
    _, err = first.communicate(timeout=WAIT)
    assert first.returncode == 143, err
    assert sorted(_held(state)) == sorted(printed)  # saved as it stopped

    missed = [p.accession_no for p in em.publish(4)]  # while no tail ran
    again = secfeed("tail", "--url", em.url, "--state", str(state), "--backlog-only", "-v")
    assert again.returncode == 0, again.stderr
    assert accessions(ndjson(again.stdout)) == missed
    assert b"16 already written" in again.stderr  # the 20 of the backlog less the 4 missed
    quiet = secfeed("tail", "--url", em.url, "--state", str(state), "--backlog-only")
    assert quiet.stdout == b""


def test_killed_tail_repeats_at_most_never_loses(emulator_factory: Factory, tmp_path: Path) -> None:
    em = emulator_factory(backlog=30)
    state = tmp_path / "tail.state"
    first = secfeed_popen("tail", "--url", em.url, "--state", str(state))
    printed = _read(first, 30)
    em.publish(5)
    printed += _read(first, 5)
    first.kill()
    first.communicate(timeout=WAIT)
    held = _held(state)
    assert set(held) <= set(printed)  # whole (an atomic file), and never ahead of the output
    missed = [p.accession_no for p in em.publish(6)]
    again = secfeed("tail", "--url", em.url, "--state", str(state), "--backlog-only")
    shown = accessions(ndjson(again.stdout))
    backlog = [p.accession_no for p in em.feed.backlog(30)]
    assert set(backlog) <= set(printed) | set(shown)  # nothing the backlog holds is lost
    assert set(missed) <= set(shown)
    assert set(shown) - set(missed) <= set(printed) - set(held)  # repeats: only unsaved ones


def test_nothing_is_remembered_that_could_not_be_written(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    em = emulator_factory(backlog=15)
    state = tmp_path / "tail.state"
    with open("/dev/full", "wb") as full:
        proc = secfeed_popen(
            "tail", "--url", em.url, "--state", str(state), "--backlog-only", stdout=full
        )
        _, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == 1, err
    assert not state.exists() or _held(state) == []
    res = secfeed("tail", "--url", em.url, "--state", str(state), "--backlog-only")
    assert len(ndjson(res.stdout)) == 15


def test_a_second_tail_on_the_same_state_exits_6_at_once(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    em = emulator_factory(backlog=5)
    state = tmp_path / "tail.state"
    first = secfeed_popen("tail", "--url", em.url, "--state", str(state))
    _read(first, 5)
    try:
        second = secfeed("tail", "--url", em.url, "--state", str(state), "--backlog-only")
        assert second.returncode == 6, second.stderr
        assert f"another secfeed is using {state}".encode() in second.stderr
        assert second.stdout == b""
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=WAIT)


def test_tail_and_snapshot_state_files_are_one_format(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    em = emulator_factory(backlog=12)
    state = tmp_path / "shared.state"
    snap = secfeed("snapshot", "--url", em.url, "--state", str(state), "-n", "4")
    assert len(ndjson(snap.stdout)) == 4
    em.publish(2)
    res = secfeed("tail", "--url", em.url, "--state", str(state), "--backlog-only")
    assert len(ndjson(res.stdout)) == 12 + 2 - 2 - 4  # the backlog holds 12; 4 were written


def test_a_corrupt_state_is_one_line_and_exit_1(emulator_factory: Factory, tmp_path: Path) -> None:
    em = emulator_factory(backlog=3)
    state = tmp_path / "tail.state"
    state.write_bytes(b"\x00not json")
    res = secfeed("tail", "--url", em.url, "--state", str(state), "--backlog-only")
    assert res.returncode == 1
    assert res.stderr.decode().strip().splitlines() == [
        f"secfeed: error: state file {state} is not a secfeed state file (remove it to start over)"
    ]
