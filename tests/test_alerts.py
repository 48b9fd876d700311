"""Alerts against a real emulator: --exec hooks (stdin, environment, order, slow, failing,
killed) and --notify through apprise to a real local HTTP server (json://, form://).

Hooks report to the test through a FIFO (a line each when done), so the test waits for events,
never for time; the run is then ended with SIGINT, as a user would.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from secfeed_cli.emulator.server import Emulator

from .conftest import WITHOUT, cli_env, ndjson, secfeed, secfeed_code, secfeed_popen
from .patience import WAIT

Factory = Callable[..., Emulator]


class Fifo:
    """A named pipe the hooks write a line to; :meth:`lines` awaits ``n`` of them."""

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.path = path
        self.fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)  # never reads as closed
        self.buffer = b""

    def lines(self, n: int, timeout: float = WAIT) -> list[str]:
        while self.buffer.count(b"\n") < n:
            if not select.select([self.fd], [], [], timeout)[0]:
                have = self.buffer.count(b"\n")
                raise AssertionError(f"only {have} of {n} lines came")
            self.buffer += os.read(self.fd, 65536)
        *done, self.buffer = self.buffer.split(b"\n", n)
        return [line.decode() for line in done]

    def close(self) -> None:
        os.close(self.fd)


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Fifo]:
    made = Fifo(tmp_path / "done")
    yield made
    made.close()


def start(em: Emulator, *args: str) -> subprocess.Popen[bytes]:
    proc = secfeed_popen("tail", "--url", em.url, *args)  # ended with the test, however it ends
    em.wait_for("hello")
    return proc


def stop(proc: subprocess.Popen[bytes]) -> tuple[bytes, str]:
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == 130, err
    return out, err.decode()


def test_hooks_get_each_live_filing_on_stdin_and_in_the_environment(
    emulator_factory: Factory, tmp_path: Path, fifo: Fifo
) -> None:
    em = emulator_factory(backlog=5)
    hook = (
        f'cat > "{tmp_path}/$SECFEED_ACCESSION_NO.json";'
        f' env | grep ^SECFEED_ | sort > "{tmp_path}/$SECFEED_ACCESSION_NO.env";'
        f' echo "$SECFEED_ACCESSION_NO" > {fifo.path}'
    )
    proc = start(em, "--exec", hook, "--exit-grace", "60")
    live = [p.record["accession_no"] for p in em.publish(4)]
    assert sorted(fifo.lines(4)) == sorted(live)
    out, err = stop(proc)
    printed = {r["accession_no"]: r for r in ndjson(out)}
    assert len(printed) == 9  # the backlog is shown, but its filings run no hook
    assert sorted(p.name for p in tmp_path.glob("*.json")) == sorted(f"{a}.json" for a in live)
    for accession in live:
        record = printed[accession]
        assert json.loads((tmp_path / f"{accession}.json").read_text()) == record
        env = dict(
            line.split("=", 1) for line in (tmp_path / f"{accession}.env").read_text().splitlines()
        )
        assert env["SECFEED_ACCESSION_NO"] == accession
        assert env["SECFEED_FORM"] == record["form"]
        assert env["SECFEED_CIK"] == str(record["cik"])
        assert env["SECFEED_COMPANY"] == (record["company"] or "")
        assert env["SECFEED_TICKER"] == (record["ticker"] or "")
        assert env["SECFEED_URL"] == record["url"]
        assert env["SECFEED_FILING_DATE"] == record["filing_date"]
        assert env["SECFEED_IS_HISTORICAL"] == "false"
    assert "hooks: 4 ran (0 failed), 0 timed out" in err


def test_backlog_filings_alert_only_with_alert_backlog(
    emulator_factory: Factory, tmp_path: Path, fifo: Fifo
) -> None:
    em = emulator_factory(backlog=5)
    hook = f'echo "$SECFEED_ACCESSION_NO $SECFEED_IS_HISTORICAL" > {fifo.path}'
    proc = start(em, "--exec", hook, "--exit-grace", "60")
    live = em.publish(1)[0].record["accession_no"]
    assert fifo.lines(1) == [f"{live} false"]  # and none of the five backlog filings
    _, err = stop(proc)
    assert "hooks: 1 ran (0 failed)" in err

    backlog = [p.record["accession_no"] for p in em.feed.backlog(5)]
    proc = start(em, "--exec", hook, "--alert-backlog", "--exit-grace", "60")
    assert sorted(fifo.lines(5)) == sorted(f"{a} true" for a in backlog)
    _, err = stop(proc)
    assert "hooks: 5 ran (0 failed)" in err


def test_one_job_runs_hooks_in_filing_order(
    emulator_factory: Factory, tmp_path: Path, fifo: Fifo
) -> None:
    em = emulator_factory(backlog=0)
    # Hooks take 0 to 90 ms (the accession's last digit), so that with several jobs the
    # order would come out mixed.
    hook = (
        "sleep 0.0$(echo $SECFEED_ACCESSION_NO | tail -c 2);"
        f' echo "$SECFEED_ACCESSION_NO" > {fifo.path}'
    )
    proc = start(em, "--exec", hook, "--exec-jobs", "1")
    published = [p.record["accession_no"] for p in em.publish(12)]
    assert fifo.lines(12) == published
    stop(proc)


def test_a_slow_hook_never_holds_the_feed_and_is_killed_at_exit(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=0)
    marker = f"secfeed-test-{uuid.uuid4().hex}"
    proc = start(em, "--exec", f"sleep 600; : {marker}", "--exec-jobs", "1", "--exit-grace", "0.5")
    em.publish(20)
    assert proc.stdout is not None
    lines = [proc.stdout.readline() for _ in range(20)]  # all 20, while the first hook sleeps
    assert all(line.endswith(b"}\n") for line in lines)
    _, err = stop(proc)  # after --exit-grace, the hook's process group is killed
    assert "hooks: 0 ran (0 failed), 0 timed out, 1 killed at exit, 19 not run (exit)" in err
    left = subprocess.run(["pgrep", "-f", marker], capture_output=True).stdout.split()
    assert all(_gone(int(pid)) for pid in left), "the hook and its children are gone"


def test_exec_timeout_kills_the_hook_and_its_children(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    em = emulator_factory(backlog=0)
    pids = tmp_path / "pids"
    hook = f"sleep 600 & echo $! >> {pids}; wait"  # a child that outlives a plain kill
    proc = start(em, "--exec", hook, "--exec-timeout", "0.3")
    published = em.publish(1)[0].record["accession_no"]
    assert proc.stderr is not None
    line = proc.stderr.readline()
    while b"killed after" not in line:
        assert line, "stderr ended without the timeout line"
        line = proc.stderr.readline()
    assert f"--exec hook for {published} killed after 0.3 s (--exec-timeout)".encode() in line
    child = int(pids.read_text())
    assert _gone(child), "killed with its process group"
    _, err = stop(proc)
    assert "1 timed out" in err


def _gone(pid: int) -> bool:
    """Awaits the end of a process that is not our child (a pidfd is readable once it has
    ended: killed, a zombie or reaped), at most WAIT seconds."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], WAIT)[0])
    finally:
        os.close(fd)


def test_failing_hooks_are_one_line_each_and_counted(emulator_factory: Factory, fifo: Fifo) -> None:
    em = emulator_factory(backlog=0)
    proc = start(
        em,
        "--exec",
        f"echo x > {fifo.path}; exit 7",
        "--exec",
        f"echo y > {fifo.path}",
        "--exit-grace",
        "60",  # a hook that wrote its line still has to exit: long on a loaded machine
    )
    published = [p.record["accession_no"] for p in em.publish(3)]
    fifo.lines(6)  # all six hooks ran: none is left to the exit's grace
    _, err = stop(proc)
    for accession in published:
        assert err.count(f"--exec hook failed (exit 7) for {accession}") == 1
    assert "hooks: 6 ran (3 failed), 0 timed out" in err


def test_hooks_do_not_get_the_api_key(
    emulator_factory: Factory, tmp_path: Path, fifo: Fifo
) -> None:
    em = emulator_factory(backlog=0)
    env = cli_env(FINFEED_API_KEY="sk-hook-test-123456")
    proc = secfeed_popen(
        "tail", "--url", em.url, "--exec", f"env > {tmp_path}/env; echo > {fifo.path}", env=env
    )
    em.wait_for("hello")
    em.publish(1)
    fifo.lines(1)
    stop(proc)
    assert "sk-hook-test-123456" not in (tmp_path / "env").read_text()


def test_exit_with_32_running_hooks_takes_the_grace_not_a_second_per_worker(
    emulator_factory: Factory, fifo: Fifo
) -> None:
    em = emulator_factory(backlog=0)
    marker = f"secfeed-test-{uuid.uuid4().hex}"
    hook = f"echo > {fifo.path}; sleep 600; : {marker}"
    proc = start(em, "--exec", hook, "--exec-jobs", "32")
    em.publish(32)
    fifo.lines(32)  # all 32 hooks are running
    signalled = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=WAIT)
    took = time.monotonic() - signalled
    print(f"SIGTERM with 32 running hooks: exit after {took:.2f} s")
    assert proc.returncode == 143, err
    # The grace is 2 s; a cost per worker showed as 2 s + 1 s a worker (34 s here). The bound
    # is loose for a loaded machine; the note gives the measured time.
    assert took < 10, took
    assert "hooks: 0 ran (0 failed), 0 timed out, 32 killed at exit" in err.decode()
    left = subprocess.run(["pgrep", "-f", marker], capture_output=True).stdout.split()
    assert all(_gone(int(pid)) for pid in left), "every hook's group was killed"


@pytest.mark.parametrize("jobs", ["65", "20000"])
def test_exec_jobs_has_a_ceiling(jobs: str) -> None:
    res = secfeed("tail", "--url", "ws://127.0.0.1:9", "--exec", "true", "--exec-jobs", jobs)
    assert res.returncode == 2
    assert b"--exec-jobs" in res.stderr and b"1<=x<=64" in res.stderr
    assert b"Traceback" not in res.stderr


def test_what_a_hook_leaves_running_cannot_hold_the_users_pipeline(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    # `secfeed ... 2>&1 | cat`: the pipe ends when secfeed does, whatever its hooks left
    # behind, and what they left is killed at secfeed's exit.
    em = emulator_factory(backlog=0)
    pids = tmp_path / "pids"
    proc = secfeed_popen(
        "tail",
        "--url",
        em.url,
        "--count",
        "1",
        "--exec",
        f"sleep 600 & echo $! > {pids}; echo started",
        stderr=subprocess.STDOUT,
    )
    em.wait_for("hello")
    em.publish(1)
    out, _ = proc.communicate(timeout=WAIT)  # a sleep holding the pipe would hold this 600 s
    assert proc.returncode == 0, out
    assert b"\nstarted\n" in out
    assert _gone(int(pids.read_text())), "what the hook started is killed at exit"


def test_exec_timeout_kills_what_the_hook_left_running(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    em = emulator_factory(backlog=0)
    pids = tmp_path / "pids"
    hook = f"sleep 600 & echo $! > {pids}; echo started"  # the shell exits at once
    proc = start(em, "--exec", hook, "--exec-timeout", "0.5")
    published = em.publish(1)[0].record["accession_no"]
    assert proc.stderr is not None
    lines: list[bytes] = []
    while not lines or b"killed after" not in lines[-1]:
        lines.append(proc.stderr.readline())
        assert lines[-1], b"".join(lines)
    assert b"started\n" in lines  # the hook's output, a line of its own
    assert f"--exec hook for {published} killed after 0.5 s".encode() in lines[-1]
    assert _gone(int(pids.read_text())), "killed at --exec-timeout, while secfeed runs on"
    _, err = stop(proc)
    assert "hooks: 0 ran (0 failed), 1 timed out" in err


# Terminal control from a filing: OSC 52 (clipboard), OSC 2 (title), clear screen, BEL, and
# C1 controls (CSI as one byte, NEL, OSC).
HOSTILE = (
    "A \x1b]52;c;cm0gLXJmIH4=\x07 B \x1b]2;pwned\x07 C \x1b[2J\x07 D \x9b31m \x85 \x9d0;x\x9c E"
)
C1 = re.compile("[\x80-\x9f]")


def _raw_feed(*filings: dict[str, Any]) -> Any:
    """A raw-socket server: an empty backlog, then these live filings, then silence."""
    from .rawserver import HEARTBEAT, RawServer, drain, frame, upgrade

    def handler(sock: Any, n: int) -> None:
        upgrade(sock)
        sock.sendall(HEARTBEAT + b"".join(frame(json.dumps(f)) for f in filings))
        drain(sock)

    return RawServer(handler)


def test_hooks_cannot_drive_the_terminal_and_get_capped_values(tmp_path: Path) -> None:
    from .rawserver import filing

    hostile = filing(1, historical=False, description=HOSTILE)
    huge = filing(2, historical=False, description="Z" * (200 << 10))  # over Linux's 128 KiB
    server = _raw_feed(hostile, huge)
    try:
        hook = (
            f'cat > "{tmp_path}/$SECFEED_ACCESSION_NO.json";'
            f' printf %s "$SECFEED_DESCRIPTION" > "{tmp_path}/$SECFEED_ACCESSION_NO.env";'
            ' echo "said: $SECFEED_DESCRIPTION" | head -c 200; echo'
        )
        res = secfeed(
            "tail", "--url", server.url, "--count", "2", "--exec", hook, "--exit-grace", "60"
        )
    finally:
        server.close()
    assert res.returncode == 0, res.stderr
    err = res.stderr.decode("utf-8", "replace")
    assert "hooks: 2 ran (0 failed), 0 timed out" in err, err
    # Nothing from the filing reaches the terminal raw through a hook.
    assert b"\x1b" not in res.stderr and b"\x07" not in res.stderr, res.stderr
    assert not C1.search(err), err
    assert "said: A \\x1b]52;c;cm0gLXJmIH4=\\x07 B" in err
    # The environment shows the controls as escapes, and is capped; stdin stays exact.
    first, second = hostile["accession_no"], huge["accession_no"]
    assert json.loads((tmp_path / f"{first}.json").read_text())["description"] == HOSTILE
    shown = (tmp_path / f"{first}.env").read_text()
    assert "\x1b" not in shown and "\\x1b]2;pwned\\x07" in shown and "\\x9b31m" in shown
    capped = (tmp_path / f"{second}.env").read_text()
    assert len(capped) == 8192 and capped.endswith("…")
    assert json.loads((tmp_path / f"{second}.json").read_text())["description"] == "Z" * (200 << 10)


def test_a_hook_that_cannot_start_is_counted_apart_from_one_that_failed(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    em = emulator_factory(backlog=0)
    # A command of 200 KiB (from the config file: as an argument it would stop secfeed
    # itself) is one string over Linux's 128 KiB: sh cannot be started with it.
    config = tmp_path / "config.toml"
    config.write_text(f'[tail]\nexec = [": {"x" * (200 << 10)}", "exit 3"]\n')
    proc = secfeed_popen(
        "tail", "--url", em.url, "--count", "2", "--config", str(config), "--exit-grace", "60"
    )
    em.wait_for("hello")
    published = [p.record["accession_no"] for p in em.publish(2)]
    _, err_bytes = proc.communicate(timeout=WAIT)
    err = err_bytes.decode()
    assert proc.returncode == 0, err
    assert f"--exec could not start the hook for {published[0]}: Argument list too long" in err
    assert f"--exec hook failed (exit 3) for {published[1]}: exit 3" in err
    assert "hooks: 2 ran (2 failed), 0 timed out, 2 could not start" in err


# -- notifications --


class Webhook:
    """A real HTTP server on 127.0.0.1 that answers each POST with the next status in line."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.arrived = threading.Condition()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with hook.arrived:
                    status = hook.statuses.pop(0) if hook.statuses else 200
                    hook.requests.append((self.path, dict(self.headers), body))
                    hook.arrived.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, n: int, timeout: float = WAIT) -> None:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.requests) >= n, timeout), self.requests

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Callable[[list[int]], Webhook]]:
    made: list[Webhook] = []

    def make(statuses: list[int]) -> Webhook:
        made.append(Webhook(statuses))
        return made[-1]

    yield make
    for hook in made:
        hook.close()


def test_a_burst_is_one_json_message_retried_after_a_500(
    emulator_factory: Factory, webhook: Callable[[list[int]], Webhook]
) -> None:
    em = emulator_factory(backlog=3)
    backlog = [p.record["accession_no"] for p in em.feed.backlog(3)]
    hook = webhook([500])
    proc = start(em, "--notify", f"json://127.0.0.1:{hook.port}/hooks/sec")
    published = em.publish(3)  # one burst
    hook.wait(2)  # the 500, then the retry
    _, err = stop(proc)
    assert len(hook.requests) == 2 and hook.requests[0][2] == hook.requests[1][2]
    path, headers, body = hook.requests[1]
    assert path.startswith("/hooks/sec")
    message = json.loads(body)
    assert message["title"] == "3 new SEC filings"
    for p in published:
        assert p.record["accession_no"].replace("-", "") in message["message"]
    for accession in backlog:  # shown, but the backlog sends nothing without --alert-backlog
        assert accession.replace("-", "") not in message["message"]
    assert (
        f"notifications to json://127.0.0.1:{hook.port}/hooks/sec: 1 sent (3 filings), 0 failed,"
        " 1 retries\n" in err
    )


def test_form_scheme_and_one_filing_per_message_title(
    emulator_factory: Factory, webhook: Callable[[list[int]], Webhook]
) -> None:
    em = emulator_factory(backlog=0)
    hook = webhook([])
    proc = start(em, "--notify", f"form://127.0.0.1:{hook.port}/form")
    filing = em.publish(1)[0].record
    hook.wait(1)
    stop(proc)
    fields = parse_qs(hook.requests[0][2].decode())
    assert fields["title"][0].startswith(f"{filing['form']}: ")
    assert filing["description"] in fields["message"][0]


def test_a_failing_webhook_is_reported_with_its_secret_masked(
    emulator_factory: Factory, webhook: Callable[[list[int]], Webhook]
) -> None:
    em = emulator_factory(backlog=0)
    hook = webhook([500] * 100)
    secret = "sekrit-token-98765"
    proc = start(em, "--notify", f"json://user:{secret}@127.0.0.1:{hook.port}/x")
    em.publish(1)
    hook.wait(1)
    _, err = stop(proc)  # retries stop at the end of the grace period
    assert secret not in err
    assert f"json://user:****@127.0.0.1:{hook.port}/x failed after" in err
    assert ": HTTP 500" in err
    assert "/x: 0 sent (0 filings), 1 failed (1 filings)" in err


def test_notify_without_apprise_is_a_usage_error(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=0)
    res = secfeed_code(
        WITHOUT.format("apprise"), "tail", "--url", em.url, "--notify", "json://127.0.0.1:9/"
    )
    assert res.returncode == 2
    assert (
        b"--notify needs apprise, an optional extra: pip install 'secfeed-cli[notify]'"
        in res.stderr
    )
    assert not any(event.name == "hello" for event in em.history())  # nothing was started


def test_a_url_apprise_does_not_know_is_a_usage_error() -> None:
    res = secfeed("tail", "--url", "ws://127.0.0.1:9", "--notify", "nosuchscheme://x/y")
    assert res.returncode == 2
    assert b"--notify: apprise does not understand this nosuchscheme:// URL" in res.stderr
    # A typo is named by its place among the targets, never printed (it may hold a token).
    res = secfeed(
        "tail", "--url", "ws://127.0.0.1:9", "--notify", "json://127.0.0.1:9/a", "--notify", "Tk9x8"
    )
    assert res.returncode == 2
    assert b"--notify #2 is not a URL: apprise URLs look like json://HOST/PATH" in res.stderr
    assert b"Tk9x8" not in res.stderr and b"***" not in res.stderr


def trickle(stop: threading.Event) -> Any:
    """An HTTP server on 127.0.0.1 (a raw socket) that reads a request and answers one byte a
    second, until ``stop``."""
    from .rawserver import RawServer

    def answer(sock: Any, n: int) -> None:
        sock.recv(65536)
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"x" * 10_000:
            sock.sendall(bytes([byte]))
            if stop.wait(1.0):  # the misbehaviour's pace, not a synchronisation
                return

    return RawServer(answer)


def test_a_slow_target_holds_up_no_other_and_every_filing_is_accounted_for(
    emulator_factory: Factory, webhook: Callable[[list[int]], Webhook]
) -> None:
    em = emulator_factory(backlog=0)
    slow_done = threading.Event()
    slow = trickle(slow_done)
    healthy = webhook([])
    try:
        proc = start(
            em,
            "--notify",
            f"json://127.0.0.1:{slow.port}/slow",
            "--notify",
            f"json://127.0.0.1:{healthy.port}/healthy",
            "--notify-timeout",
            "1",
        )
        published = [p.record["accession_no"] for p in em.publish(25)]
        healthy.wait(1)  # the slow target, first in line, did not hold it up
        assert proc.stderr is not None
        line = proc.stderr.readline()
        while b"failed" not in line:
            assert line, "stderr ended before the slow target's failure"
            line = proc.stderr.readline()
        _, err = stop(proc)
    finally:
        slow_done.set()
        slow.close()
    body = json.loads(healthy.requests[0][2])["message"]
    assert all(a.replace("-", "") in body for a in published)
    assert (
        f"--notify: sending 25 filings to json://127.0.0.1:{slow.port}/slow failed (1 attempt):"
        " no answer within 1 s (--notify-timeout)"
    ).encode() in line
    assert f"to json://127.0.0.1:{healthy.port}/healthy: 1 sent (25 filings), 0 failed" in err
    assert f"to json://127.0.0.1:{slow.port}/slow: 0 sent (0 filings), 1 failed (25 filings)" in err


def test_failures_name_the_target_and_the_reason_with_only_tokens_masked(
    emulator_factory: Factory, webhook: Callable[[list[int]], Webhook]
) -> None:
    em = emulator_factory(backlog=0)
    missing = webhook([404] * 10)
    healthy = webhook([])
    token = "Tk9x8Ab7Qz2LmN4"
    proc = start(
        em,
        "--notify",
        "json://127.0.0.1:1/Ab3x9",  # nothing listens on port 1: refused
        "--notify",
        f"json://127.0.0.1:{missing.port}/hooks/{token}",
        "--notify",
        f"json://127.0.0.1:{healthy.port}/ok",
    )
    em.publish(1)
    healthy.wait(1)
    missing.wait(1)
    _, err = stop(proc)  # the grace ends the retries: each failure is one line
    assert "sending 1 filing to json://127.0.0.1:1/Ab3x9 failed" in err
    assert "/Ab3x9 failed after" in err and ": connection refused\n" in err
    assert f"to json://127.0.0.1:{missing.port}/hooks/T...4 failed" in err and ": HTTP 404" in err
    assert token not in err
    assert "notifications to json://127.0.0.1:1/Ab3x9: 0 sent (0 filings), 1 failed" in err
    assert f"notifications to json://127.0.0.1:{healthy.port}/ok: 1 sent (1 filings)" in err


def test_a_notify_url_masks_its_secrets_but_no_plain_word_of_it() -> None:
    """A Slack channel ``#filings`` or a query key ``token`` hidden by the display form once
    became secrets and blanked that word in every diagnostic line; the tokens stay masked."""
    import warnings

    from secfeed_cli.alerts import notify
    from secfeed_cli.common.redact import Secrets

    secrets = Secrets()
    with warnings.catch_warnings():  # apprise's plugins import imghdr, deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        notify.services(
            (
                "slack://T1234ABCD/B1234ABCD/abcdefghijklmnop12345678/#filings",
                "discord://123456789/abcdefgh-token-XYZ",
                "mailto://user:secretpw@example.com?to=filings@example.org",
                "json://127.0.0.1:9/hooks?+X-Token=abc123",
            ),
            secrets,
        )
    line = "sent 3 filings to hooks (token in a header); 0 failed (0 filings)"
    assert secrets.redact(line) == line
    for secret in (
        "T1234ABCD",
        "abcdefghijklmnop12345678",
        "123456789",
        "abcdefgh-token-XYZ",
        "secretpw",
        "filings@example.org",
        "abc123",
    ):
        assert secrets.redact(f"<{secret}>") == "<***>", secret
