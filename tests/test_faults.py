"""Never lose, never double, never hang: the fault matrix against the emulator's fault flags.

Each test compares the accession numbers printed with what the emulator published. The emulator
publishes its sample in order (backlog first), so a run without loss or duplicates prints exactly
the first N accession numbers of the sample.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest

from secfeed_cli.emulator.feed import with_accession_year
from secfeed_cli.emulator.server import Emulator

from .conftest import ROOT, accessions, cli_env, ndjson, secfeed, secfeed_popen
from .patience import WAIT

Factory = Callable[..., Emulator]


def sample_ids(em: Emulator, loops: int = 1) -> list[str]:
    """Accession numbers in publish order (the sample loops with the year field bumped)."""
    return [with_accession_year(r, n)["accession_no"] for n in range(loops) for r in em.feed.sample]


def assert_consecutive(em: Emulator, printed: list[str], n: int) -> None:
    """Exactly ``n`` filings, each once, in publish order, with none skipped."""
    ids = sample_ids(em)
    start = ids.index(printed[0])
    assert printed == ids[start : start + n]


def connections(em: Emulator) -> int:
    return sum(1 for e in em.history() if e.name == "connect")


def test_dropped_connection_reconnects_without_loss_or_duplicates(
    emulator_factory: Factory,
) -> None:
    # The drop comes 50 live filings in; the reconnect waits up to 0.5 s (jitter), while the
    # new backlog of 300 reaches 3 s back at 100/s: it always overlaps what was printed.
    em = emulator_factory(backlog=300, rate=100, drop_after=350, fault_connections=1)
    res = secfeed("tail", "--url", em.url, "--count", "450")
    assert res.returncode == 0, res.stderr
    assert_consecutive(em, accessions(ndjson(res.stdout)), 450)
    err = res.stderr.decode()
    assert "connection dropped" in err and "connection #2" in err
    assert connections(em) == 2


def test_stalled_connection_is_detected_by_the_watchdog(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=300, rate=50, stall_after=320, fault_connections=1)
    res = secfeed("tail", "--url", em.url, "--count", "400", "--stall-timeout", "1")
    assert res.returncode == 0, res.stderr
    assert_consecutive(em, accessions(ndjson(res.stdout)), 400)
    assert "stalled" in res.stderr.decode()
    assert any(e.name == "fault-stall" for e in em.history())


def test_reconnect_message_switches_make_before_break(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=100, rate=100, reconnect_every=0.5, reconnect_within=0.5)
    res = secfeed("tail", "--url", em.url, "--count", "300")
    assert res.returncode == 0, res.stderr
    assert_consecutive(em, accessions(ndjson(res.stdout)), 300)
    assert "asked to reconnect" in res.stderr.decode()
    em.wait_for("disconnect", conn=1)
    names = [(e.name, e.conn) for e in em.history()]
    # The second connection was opened before the first one was closed.
    assert names.index(("connect", 2)) < names.index(("disconnect", 1))
    assert ("reconnect-close", 1) not in names[: names.index(("connect", 2))]


def test_overflow_from_a_slow_consumer_warns_and_reconnects(emulator_factory: Factory) -> None:
    # The buffer holds 2 s of the feed: only a client that stopped reading fills it. With 100
    # (33 ms at 3,000/s), a stall of the emulator's own thread on a busy machine made it
    # publish a catch-up burst past the buffer while the client was keeping up (a CI failure).
    em = emulator_factory(backlog=300, rate=2000, buffer=4000)
    # Once the client reads again, TCP may let several seconds pass before the server sends
    # (its zero-window probes back off while nobody reads): the stall timeout covers that, so
    # the server's overflow error, queued behind the data, is what ends the connection.
    stall = ("--stall-timeout", "30")
    with secfeed_popen("tail", "--url", em.url, "--duration", "90", "-v", *stall) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        em.wait_for("overflow")  # stdout is not read: the client backed up
        chunks: list[bytes] = []
        drain = threading.Thread(target=lambda: chunks.append(proc.stdout.read()))  # type: ignore[union-attr]
        drain.start()
        err_lines = []
        # Events: the overflow error arrives, then the reconnect, then the new connection's
        # backlog completes (which is when a gap, if any, is known and warned about).
        for line in proc.stderr:
            err_lines.append(line.decode())
            if "reconnected: backlog replayed" in line.decode():  # after any gap warning
                break
        proc.send_signal(signal.SIGTERM)
        err_lines.append(proc.stderr.read().decode())
        drain.join(timeout=WAIT)
        proc.wait(timeout=WAIT)
    assert proc.returncode == 143, "".join(err_lines)
    err = "".join(err_lines)
    assert "output is slower than the feed" in err
    assert "read too slowly" in err
    printed = accessions(ndjson(b"".join(chunks)))
    assert len(printed) == len(set(printed))
    order = {acc: i for i, acc in enumerate(sample_ids(em, loops=20))}
    positions = [order[a] for a in printed]
    assert positions == sorted(positions)  # never out of order, never twice
    if positions != list(range(positions[0], positions[0] + len(positions))):
        assert "may have been missed" in err  # a gap is never silent


def test_invalid_key_exits_3_after_one_attempt(emulator_factory: Factory) -> None:
    em = emulator_factory(api_key="right-key")
    res = secfeed("tail", "--url", em.url, "--api-key", "wrong-key-123", "-v")
    assert res.returncode == 3
    err = res.stderr.decode()
    assert "rejected the API key" in err and "wrong-key-123" not in err
    assert res.stdout == b""
    assert connections(em) == 1


def test_malformed_frames_are_skipped_counted_and_warned_once(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=100, malformed_every=7)
    res = secfeed("tail", "--url", em.url, "--backlog-only", "-v")
    assert res.returncode == 0, res.stderr
    assert accessions(ndjson(res.stdout)) == sample_ids(em)[:100]
    err = res.stderr.decode()
    kinds = ["json", "utf8", "binary", "not-object", "unknown-type", "field", "too-large"]
    for kind in kinds:
        assert err.count(f"skipped a malformed frame ({kind})") == 1, kind
    assert "14 malformed skipped" in err


def test_server_not_listening_exits_4_after_retries() -> None:
    res = secfeed("tail", "--url", "ws://127.0.0.1:9", "--max-retries", "2")
    assert res.returncode == 4
    err = res.stderr.decode()
    # The first failure is said; the same cause again only with -v (the status line counts).
    assert err.count("retrying in") == 1 and "after 3 attempts" in err
    assert "Traceback" not in err
    res = secfeed("tail", "--url", "ws://127.0.0.1:9", "--max-retries", "2", "-v")
    assert res.returncode == 4
    assert res.stderr.decode().count("retrying in") == 2


def test_no_reconnect_exits_4_when_the_connection_ends(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=20, drop_after=10)
    res = secfeed("tail", "--url", em.url, "--no-reconnect")
    assert res.returncode == 4
    assert len(ndjson(res.stdout)) == 10


def test_closed_pipe_ends_quietly(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=300, rate=50)
    script = (
        f"{sys.executable} -m secfeed_cli tail --url {em.url} | head -n 5; "
        'echo "secfeed exit: ${PIPESTATUS[0]}" >&2'
    )
    res = subprocess.run(
        ["bash", "-c", script], capture_output=True, timeout=30, env=cli_env(), cwd=ROOT
    )
    assert len(res.stdout.decode().splitlines()) == 5
    err = res.stderr.decode()
    assert "secfeed exit: 0" in err
    assert "Traceback" not in err and "error" not in err.lower() and "Exception" not in err


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)]
)
def test_signals_close_flush_and_summarise(
    emulator_factory: Factory, signum: int, code: int
) -> None:
    em = emulator_factory(backlog=5, rate=20)
    with secfeed_popen("tail", "--url", em.url) as proc:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # the event: output is flowing
        assert first.startswith(b"{")
        proc.send_signal(signum)
        out = proc.stdout.read()  # not communicate(): it would skip what readline buffered
        assert proc.stderr is not None
        err = proc.stderr.read()
        proc.wait(timeout=WAIT)
    assert proc.returncode == code
    assert b"Traceback" not in err and b"\n\n" not in err
    lines = (first + out).decode().splitlines()
    assert all(line.endswith("}") for line in lines)  # nothing half-written
    assert f"{len(lines)} shown" in err.decode()
    em.wait_for("disconnect")


def tail_into_dev_full(em: Emulator, *args: str) -> subprocess.CompletedProcess[bytes]:
    with open("/dev/full", "wb") as full:
        return subprocess.run(
            [sys.executable, "-m", "secfeed_cli", "tail", "--url", em.url, *args],
            stdout=full,
            stderr=subprocess.PIPE,
            timeout=30,
            env=cli_env(),
            cwd=ROOT,
        )


def test_disk_full_exits_1_with_one_line(emulator_factory: Factory) -> None:
    res = tail_into_dev_full(emulator_factory(backlog=50), "--backlog-only")
    assert res.returncode == 1
    err = res.stderr.decode()
    assert "cannot write output: No space left on device" in err
    assert "Traceback" not in err and "Exception ignored" not in err


def test_gap_after_an_outage_is_warned_not_hidden(emulator_factory: Factory) -> None:
    # A backlog of 5 cannot cover the second of silence at 200 filings/s before the watchdog.
    em = emulator_factory(backlog=5, rate=200, stall_after=20, fault_connections=1)
    res = secfeed("tail", "--url", em.url, "--count", "40", "--stall-timeout", "1")
    assert res.returncode == 0, res.stderr
    records = ndjson(res.stdout)
    printed = accessions(records)
    assert len(printed) == len(set(printed)) == 40
    err = res.stderr.decode()
    # The warning names the window: from the last filing seen before the outage to the
    # oldest filing of the new backlog (the first one printed after it).
    assert f"between {records[19]['discovered_time']} and {records[20]['discovered_time']}" in err
    assert "may have been missed" in err


def test_other_server_error_reconnects_or_exits_5(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=30, error_after=10, fault_connections=1)
    res = secfeed("tail", "--url", em.url, "--backlog-only")
    assert res.returncode == 0, res.stderr
    assert accessions(ndjson(res.stdout)) == sample_ids(em)[:30]
    assert "server error: Internal server error" in res.stderr.decode()

    em2 = emulator_factory(backlog=30, error_after=10)
    res = secfeed("tail", "--url", em2.url, "--no-reconnect")
    assert res.returncode == 5
    assert len(ndjson(res.stdout)) == 10
    assert "Internal server error" in res.stderr.decode()


def test_server_pings_are_answered(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=1, ping_interval=0.2)
    res = secfeed("tail", "--url", em.url, "--duration", "1.5", "--no-heartbeat")
    assert res.returncode == 0, res.stderr
    assert connections(em) == 1 and "lost" not in res.stderr.decode()
    # The same server drops a client that does not answer (so the check above can fail).
    import socket

    raw = socket.create_connection(("127.0.0.1", em.port))
    raw.sendall(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    em.wait_for("disconnect", conn=2)
    raw.close()


def test_failed_switch_keeps_the_old_connection(emulator_factory: Factory) -> None:
    # The server asks for a reconnect but refuses every new connection.
    em = emulator_factory(
        backlog=10, rate=50, reconnect_every=0.3, reconnect_within=1.0, refuse_after=1
    )
    res = secfeed("tail", "--url", em.url, "--max-retries", "1")
    assert res.returncode == 4
    err = res.stderr.decode()
    assert "staying on the current one" in err and "HTTP 503" in err
    printed = accessions(ndjson(res.stdout))
    assert_consecutive(em, printed, len(printed))
    assert len(printed) > 10  # live filings kept coming on the old connection
    assert ("reconnect-close", 1) in [(e.name, e.conn) for e in em.history()]


def test_disk_full_on_the_last_flush_is_still_an_error(emulator_factory: Factory) -> None:
    # -n 3 stops mid-read: only the final flush fails
    res = tail_into_dev_full(emulator_factory(backlog=50), "--count", "3")
    assert res.returncode == 1
    assert b"No space left on device" in res.stderr and b"Traceback" not in res.stderr


def _blocked_on_pipe(pid: int) -> bool:
    with open(f"/proc/{pid}/wchan") as f:  # the main thread's kernel wait point
        return f.read().strip().endswith("pipe_write")  # pipe_write, anon_pipe_write


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_during_a_blocked_write_never_leaves_half_a_line(
    emulator_factory: Factory, signum: int
) -> None:
    em = emulator_factory(backlog=3000)
    with secfeed_popen("tail", "--url", em.url) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        # Nobody reads stdout: the 3,000-filing burst fills the pipe and the write blocks.
        # The kernel shows that state; there is no event to wait on, so poll it (bounded).
        deadline = time.monotonic() + 20
        while not _blocked_on_pipe(proc.pid):
            assert time.monotonic() < deadline, "the write never blocked"
            time.sleep(0.01)
        proc.send_signal(signum)
        out = proc.stdout.read()  # now read: the lines in progress go out, then the exit
        err = proc.stderr.read().decode()
        proc.wait(timeout=WAIT)
    assert proc.returncode == 128 + signum, err
    assert out.endswith(b"\n") and len(out) > 65536
    lines = out.decode().splitlines()
    assert [line[-1] for line in lines] == ["}"] * len(lines)
    assert_consecutive(em, accessions(ndjson(out)), len(lines))
    assert f"{len(lines)} shown" in err
