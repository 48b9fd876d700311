"""A hostile or broken server cannot leak the key, crash secfeed, hang it, or exhaust it.

Each server here is a raw socket on 127.0.0.1 (see rawserver.py) doing what no well-behaved
WebSocket library would: redirects, echoed keys, unrequested extensions, trickles, absurd frame
lengths, endless headers, huge bodies, ping floods, reconnect storms. The client is the real CLI
in a subprocess.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import pytest

from .conftest import accessions, cli_env, ndjson, secfeed, secfeed_popen
from .patience import WAIT
from .rawserver import (
    HEARTBEAT,
    Handler,
    RawServer,
    client_frames,
    close_frame,
    drain,
    filing_frame,
    frame,
    message,
    read_request,
    upgrade,
)

KEY = "s3cr3t/k+y=Z9"  # URL-encoding changes it, so each form is distinct


@pytest.fixture
def servers() -> Iterator[list[RawServer]]:
    made: list[RawServer] = []
    yield made
    for server in made:
        server.close()


def start(servers: list[RawServer], handler: Handler) -> RawServer:
    server = RawServer(handler)
    servers.append(server)
    return server


# ---- the key --------------------------------------------------------------------------------


def test_redirect_is_not_followed_and_the_key_does_not_travel(servers: list[RawServer]) -> None:
    elsewhere = start(servers, lambda sock, n: read_request(sock))

    def redirect(sock: socket.socket, n: int) -> None:
        read_request(sock)
        location = f"ws://127.0.0.1:{elsewhere.port}/feed?apikey={quote(KEY, safe='')}"
        sock.sendall(f"HTTP/1.1 302 Found\r\nLocation: {location}\r\n\r\n".encode())
        drain(sock)

    first = start(servers, redirect)
    res = secfeed("tail", "--url", first.url, "--api-key", KEY, "--count", "1")
    err = res.stderr.decode()
    assert res.returncode == 4, err
    assert f"redirected to ws://127.0.0.1:{elsewhere.port}/feed?apikey=***" in err
    assert "does not follow redirects" in err
    assert KEY not in err and quote(KEY, safe="") not in err
    assert first.connections == 1  # not retried
    assert elsewhere.connections == 0  # and never followed


@pytest.mark.parametrize(
    "form",
    [
        KEY,
        quote(KEY, safe=""),
        base64.b64encode(f"finfeedapi:{KEY}".encode()).decode(),
    ],
    ids=["plain", "url-encoded", "basic"],
)
def test_a_server_echoing_the_key_never_gets_it_printed(
    servers: list[RawServer], form: str
) -> None:
    def echo(sock: socket.socket, n: int) -> None:
        upgrade(sock)
        sock.sendall(message(type="error", message=f"key {form} is not allowed here"))
        sock.sendall(close_frame(1008, f"bad key {form}"))
        drain(sock)

    server = start(servers, echo)
    res = secfeed("tail", "--url", server.url, "--api-key", KEY, "--no-reconnect", "-v")
    err = res.stderr.decode()
    assert res.returncode == 5, err
    assert "error: the server reported an error: key *** is not allowed here" in err
    assert form not in err and KEY not in err


@pytest.mark.parametrize(
    "key",
    ["abc\r\nX-Injected: 1", "abc def", "abc\tdef", "abc\x1bdef", "abc\x7f"],
    ids=["crlf", "space", "tab", "esc", "del"],
)
def test_a_key_with_control_characters_is_a_usage_error(servers: list[RawServer], key: str) -> None:
    server = start(servers, lambda sock, n: read_request(sock))
    res = secfeed("tail", "--url", server.url, "--count", "1", env=cli_env(FINFEED_API_KEY=key))
    err = res.stderr.decode()
    assert res.returncode == 2, err
    assert "the API key contains" in err and "X-Injected" not in err and "def" not in err
    assert server.connections == 0  # nothing was sent


def test_an_extension_the_client_did_not_ask_for_fails_the_handshake(
    servers: list[RawServer],
) -> None:
    def deflate(sock: socket.socket, n: int) -> None:
        upgrade(sock, extra="Sec-WebSocket-Extensions: permessage-deflate\r\n")
        sock.sendall(filing_frame(1) + HEARTBEAT)
        drain(sock)

    server = start(servers, deflate)
    res = secfeed("tail", "--url", server.url, "--no-reconnect")
    err = res.stderr.decode()
    assert res.returncode == 4, err
    assert "negotiated an extension secfeed did not ask for (permessage-deflate)" in err
    assert res.stdout == b""


# ---- never crash on one frame ---------------------------------------------------------------

EDGE_FRAMES = [
    filing_frame(2, False, discovered_time="0001-01-01T00:00:00+05:00"),
    filing_frame(3, False, discovered_time="9999-12-31T23:59:59-05:00"),
    filing_frame(4, False, accepted_time="0001-01-01T03:00:00+05:00"),
    filing_frame(5, False, discovered_time="0000-01-01T00:00:00Z"),
    filing_frame(6, False, discovered_time="9999-12-31T23:59:59-05:00", ticker="ACME"),
    message(type="reconnect", within_seconds=5, before_time="0001-01-01T00:00:00+01:00"),
    filing_frame(7, False, cik=10**10),
    filing_frame(8, False, cik=0),
]


@pytest.mark.parametrize("fmt", ["ndjson", "csv", "table"])
def test_times_at_the_edges_of_datetime_and_bad_ciks_are_skipped(
    servers: list[RawServer], fmt: str
) -> None:
    def edges(sock: socket.socket, n: int) -> None:
        upgrade(sock)
        sock.sendall(HEARTBEAT + filing_frame(1, False) + b"".join(EDGE_FRAMES))
        sock.sendall(filing_frame(9, False))
        drain(sock)

    server = start(servers, edges)
    res = secfeed("tail", "--url", server.url, "-f", fmt, "--latency", "--count", "2", "-v")
    err = res.stderr.decode()
    assert res.returncode == 0, err
    out = res.stdout.decode()
    assert "0000123456-26-000001" in out and "0000123456-26-000009" in out
    for n in range(2, 9):
        assert f"0000123456-26-00000{n}" not in out
    assert f"{len(EDGE_FRAMES)} malformed skipped" in err
    assert "internal error" not in err and "Traceback" not in err


# ---- never hang -----------------------------------------------------------------------------


def _backlog_then(sock: socket.socket, trouble: bytes, trickle: bool) -> None:
    """Connection 1: one filing, a heartbeat, then ``trouble``; a trickle goes a byte at a time."""
    upgrade(sock)
    sock.sendall(filing_frame(1) + HEARTBEAT)
    if not trickle:
        sock.sendall(trouble)
        drain(sock)
        return
    for byte in trouble:
        sock.sendall(bytes([byte]))
        time.sleep(0.2)  # the misbehaviour under test, not synchronisation
    drain(sock)


def _second_connection(sock: socket.socket) -> None:
    upgrade(sock)
    sock.sendall(filing_frame(1) + filing_frame(2) + HEARTBEAT)
    drain(sock)


@pytest.mark.parametrize(
    ("trouble", "trickle", "said"),
    [
        # A heartbeat frame that never completes, a byte every 0.2 s: bytes, but no frame.
        (frame(b"x" * 300)[:4] + b"x" * 300, True, "no complete frame for 1 s (stalled)"),
        (bytes([0x81, 127, 0x80, 0, 0, 0, 0, 0, 0, 1]), False, "most significant bit"),
        (bytes([0x81, 127]) + (100 << 20).to_bytes(8, "big"), False, "more than 64 MiB"),
    ],
    ids=["trickle", "length-top-bit", "length-100MiB"],
)
def test_a_connection_that_cannot_deliver_is_dropped_and_replaced(
    servers: list[RawServer], trouble: bytes, trickle: bool, said: str
) -> None:
    def handler(sock: socket.socket, n: int) -> None:
        if n == 1:
            _backlog_then(sock, trouble, trickle)
        else:
            _second_connection(sock)

    server = start(servers, handler)
    res = secfeed("tail", "--url", server.url, "--count", "2", "--stall-timeout", "1")
    err = res.stderr.decode()
    assert res.returncode == 0, err
    assert accessions(ndjson(res.stdout)) == ["0000123456-26-000001", "0000123456-26-000002"]
    assert said in err and "connection #1 lost" in err
    assert server.connections == 2


def test_the_stream_reads_for_itself_and_its_keeper_only_while_the_output_is_held() -> None:
    # The stream's thread reads the socket itself (a burst stays on one core); the
    # connection's keeper thread reads only while the output holds the stream's thread, and
    # what it read comes first when the stream is back. A real socket pair; the filings must
    # come out in order, once each, whoever read them.
    from secfeed_cli.feed.connection import Connection
    from secfeed_cli.feed.events import NewFilings
    from secfeed_cli.feed.handshake import Opened
    from secfeed_cli.feed.links import ConnectOptions, Item, Outbox
    from secfeed_cli.feed.stream import Stream

    readers: list[str] = []
    keeper_read = threading.Event()

    class Recording(Connection):
        def _step(self) -> list[Item]:
            items = super()._step()
            if items:
                readers.append(threading.current_thread().name)
                if threading.current_thread() is not threading.main_thread():
                    keeper_read.set()
            return items

    server, client = socket.socketpair()
    opts = ConnectOptions(url="ws://127.0.0.1:9", stall_timeout=30, heartbeat=False)

    def connector(conn: int, out: Outbox) -> Connection:
        link = Recording(conn, Opened(client, b""), out, opts, lambda: None)
        link.start()
        return link

    stream = Stream(opts, connector=connector)
    events = stream.events()
    seen: list[str] = []

    def take(until: int) -> None:
        while len(seen) < until:
            event = next(events)
            if isinstance(event, NewFilings):
                seen.extend(f.accession_no for f in event.filings)

    def burst(first: int, last: int) -> None:
        server.sendall(b"".join(filing_frame(n) for n in range(first, last + 1)))

    try:
        burst(1, 200)
        take(1)
        burst(201, 400)  # the output holds the stream's thread until the keeper has read
        assert keeper_read.wait(WAIT)
        held = len(readers)
        take(400)
        for k in range(20):  # the stream is back: it reads again (a few tries: a busy machine
            first = 401 + 100 * k  # may keep it away longer than the keeper waits)
            burst(first, first + 99)
            take(first + 99)
            if "MainThread" in readers[held:]:
                break
    finally:
        stream.close()
        server.close()
    assert "MainThread" in readers[held:], readers
    assert seen == [f"0000123456-26-{n:06d}" for n in range(1, len(seen) + 1)]


def test_waiting_on_our_own_output_is_not_a_stalled_server() -> None:
    # A real socket pair, the server's end in the test's hands. The connection's queue holds
    # one batch and starts full, so the first frame read makes its reader wait for the output
    # (our side, as when stdout is not read).
    from secfeed_cli.feed.connection import Connection
    from secfeed_cli.feed.handshake import Opened
    from secfeed_cli.feed.links import ConnectOptions, Texts

    server, client = socket.socketpair()
    out: queue.Queue[Any] = queue.Queue(maxsize=1)
    out.put("the output is busy")
    waiting = threading.Event()
    link = Connection(1, Opened(client, b""), out, ConnectOptions(stall_timeout=3), waiting.set)
    link.start()
    second = filing_frame(2)
    try:
        server.sendall(filing_frame(1))
        assert waiting.wait(WAIT)  # frame 1 is read; the reader waits for room in the queue
        # The output holds the reader longer than the stall timeout (the condition under test),
        # and meanwhile the server sends the first half of frame 2.
        server.sendall(second[:100])
        time.sleep(4)
        assert out.get(timeout=WAIT) == "the output is busy"  # room: the reader goes on
        first = out.get(timeout=WAIT)
        # Its next read holds half a frame. The time it spent waiting used to count as the
        # server's silence: 'no complete frame for 3 s (stalled)', and the link was dropped.
        # The rest comes a second later, well inside the stall timeout (the server's pace).
        time.sleep(1)
        with contextlib.suppress(OSError):  # a dropped link: its Closed record says why
            server.sendall(second[100:])
        after = out.get(timeout=WAIT)
    finally:
        link.close(abort=True)
        server.close()
    assert isinstance(first, Texts) and isinstance(after, Texts), after
    frames = [*first.frames, *after.frames]
    assert [json.loads(f)["accession_no"] for f in frames] == [
        "0000123456-26-000001",
        "0000123456-26-000002",
    ]


def _slow_101(sock: socket.socket, n: int) -> None:
    request = read_request(sock)
    from .rawserver import accept_value

    answer = (
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept_value(request)}\r\n\r\n"
    ).encode()
    for byte in answer:
        sock.sendall(bytes([byte]))
        time.sleep(0.2)  # the misbehaviour under test


def _endless_header(sock: socket.socket, n: int) -> None:
    read_request(sock)
    sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nX-Junk: ")
    while True:
        sock.sendall(b"a" * 65536)


def _huge_body(report: Callable[[int], None]) -> Handler:
    def handler(sock: socket.socket, n: int) -> None:
        read_request(sock)
        size = 40_000_000
        sent = 0
        try:
            sock.sendall(f"HTTP/1.1 503 Busy\r\nContent-Length: {size}\r\n\r\n".encode())
            while sent < size:
                sent += sock.send(b"z" * 65536)
        finally:
            report(sent)

    return handler


@pytest.mark.parametrize(
    ("kind", "said"),
    [
        ("slow-101", "handshake timed out"),
        ("endless-header", "response headers exceed 16 KiB"),
        ("huge-body", "the server answered HTTP 503 Busy"),
    ],
)
def test_the_handshake_cannot_hold_or_bloat_the_client(
    servers: list[RawServer], kind: str, said: str
) -> None:
    sent: list[int] = []
    reported = threading.Event()

    def report(count: int) -> None:
        sent.append(count)
        reported.set()

    handlers: dict[str, Handler] = {"slow-101": _slow_101, "endless-header": _endless_header}
    server = start(servers, handlers.get(kind) or _huge_body(report))
    res = secfeed(
        "tail", "--url", server.url, "--connect-timeout", "1", "--no-reconnect", "--count", "1"
    )
    err = res.stderr.decode()
    assert res.returncode == 4, err
    assert said in err, err
    assert len(err.splitlines()) <= 3 and "Traceback" not in err
    if kind == "huge-body":
        assert reported.wait(WAIT)
        assert sent[0] < 40_000_000  # the client stopped reading: the body never came


def _silent(sock: socket.socket, n: int) -> None:
    drain(sock)


def _no_heartbeat(sock: socket.socket, n: int) -> None:
    upgrade(sock)
    sock.sendall(filing_frame(1))
    drain(sock)


@pytest.mark.parametrize(
    ("kind", "said"),
    [
        ("refused", "connection refused"),
        ("silent", "handshake timed out"),
        ("no-heartbeat", "backlog was incomplete"),
    ],
)
def test_snapshot_timeout_is_a_hard_deadline_naming_the_cause(
    servers: list[RawServer], kind: str, said: str
) -> None:
    if kind == "refused":
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        url = f"ws://127.0.0.1:{probe.getsockname()[1]}"  # bound, not listening: refused
    else:
        url = start(servers, _silent if kind == "silent" else _no_heartbeat).url
    res = secfeed("snapshot", "--url", url, "--timeout", "1.5")
    err = res.stderr.decode()
    assert res.returncode == 4, err
    assert "the backlog was not complete after 1.5 s (--timeout)" in err and said in err
    assert res.stdout == b""
    if kind == "refused":
        probe.close()


def test_ctrl_c_ends_the_run_under_a_ping_flood(servers: list[RawServer]) -> None:
    flooding = threading.Event()

    def flood(sock: socket.socket, n: int) -> None:
        upgrade(sock)
        sock.sendall(filing_frame(1) + HEARTBEAT)
        ping = frame(b"p" * 125, opcode=0x9)
        sent = 0
        while True:  # never reads: the client's pongs back up
            sent += sock.send(ping * 64)
            if sent > 4 << 20:
                flooding.set()

    server = start(servers, flood)
    with secfeed_popen("tail", "--url", server.url) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith(b"{")
        assert flooding.wait(WAIT)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=WAIT)  # a bound, not a measurement: the note says how long it took
        err = proc.stderr.read() if proc.stderr else b""
    assert proc.returncode == 130, err
    assert b"Traceback" not in err


# ---- never pile up --------------------------------------------------------------------------


def _sample(pid: int) -> tuple[int, int]:
    return len(os.listdir(f"/proc/{pid}/fd")), len(os.listdir(f"/proc/{pid}/task"))


def _samples(proc: subprocess.Popen[bytes], seconds: float) -> list[tuple[int, int]]:
    """(fds, threads) of a running process every 0.1 s for ``seconds``, and once more."""
    samples = []
    end = time.monotonic() + seconds
    while time.monotonic() < end and proc.poll() is None:
        samples.append(_sample(proc.pid))
        time.sleep(0.1)  # a sampling interval, not synchronisation
    samples.append(_sample(proc.pid))
    return samples


def test_reconnect_storm_keeps_fds_and_threads_bounded(servers: list[RawServer]) -> None:
    def storm(sock: socket.socket, n: int) -> None:
        # Every connection: a filing, then at once "reconnect"; never a heartbeat, so no
        # backlog ever completes; the server closes each connection a second later.
        upgrade(sock)
        sock.sendall(filing_frame(n) + message(type="reconnect", within_seconds=1))
        sock.settimeout(1.0)
        try:
            drain(sock)
        except TimeoutError:
            sock.sendall(close_frame(1012, "reconnect window ended"))

    server = start(servers, storm)
    with secfeed_popen("tail", "--url", server.url, "--duration", "12") as proc:
        server.wait(lambda: server.connections >= 1)
        samples = _samples(proc, 10)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=WAIT)
    fds = max(s[0] for s in samples)
    threads = max(s[1] for s in samples)
    print(f"reconnect storm: {server.connections} connections, max {fds} fds, {threads} threads")
    assert server.connections >= 4  # the storm really churned
    assert fds <= 8, samples  # stdin/out/err, a pipe or two, at most two sockets
    assert threads <= 4, samples  # main and at most two readers (one finishing its close)
    printed = accessions(ndjson(out))
    assert len(printed) == len(set(printed))


def test_lines_are_out_before_the_close_handshake_starts(servers: list[RawServer]) -> None:
    def ignores_close(sock: socket.socket, n: int) -> None:
        upgrade(sock)
        sock.sendall(b"".join(filing_frame(i) for i in range(1, 6)) + HEARTBEAT)
        for opcode, _ in client_frames(sock):
            if opcode == 0x8:
                server.note("close")
                drain(sock)  # never answered
                return

    server = start(servers, ignores_close)
    with secfeed_popen("tail", "--url", server.url, "--backlog-only") as proc:
        assert proc.stdout is not None
        server.wait(lambda: "close" in server.notes)
        os.set_blocking(proc.stdout.fileno(), False)
        early = proc.stdout.read() or b""  # what was on stdout when the close went out
        proc.wait(timeout=WAIT)
    assert proc.returncode == 0
    assert accessions(ndjson(early)) == [f"0000123456-26-{i:06d}" for i in range(1, 6)]


# ---- a feed that falls further and further behind --------------------------------------------


def test_latency_that_keeps_growing_is_warned_about_once(servers: list[RawServer]) -> None:
    stop = threading.Event()
    sent = [0]

    def receding(sock: socket.socket, n: int) -> None:
        upgrade(sock)
        sock.sendall(HEARTBEAT)  # no backlog: everything after this is live
        first = datetime.now(timezone.utc)
        while not stop.is_set():
            sent[0] += 1
            # Each filing was discovered 50 ms before the last one: its latency, as the
            # client measures it, grows by the pause plus 50 ms a filing.
            when = first - timedelta(milliseconds=50 * sent[0])
            stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"
            sock.sendall(filing_frame(sent[0], historical=False, discovered_time=stamp))
            server.note(sent[0])
            stop.wait(0.01)  # the feed's pace (the misbehaviour), not a synchronisation

    server = start(servers, receding)
    warned = threading.Event()
    err: list[bytes] = []
    with secfeed_popen("tail", "--url", server.url, stdout=subprocess.DEVNULL) as proc:

        def read_stderr() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                err.append(line)
                if b"latency keeps growing" in line:
                    warned.set()

        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        try:
            assert warned.wait(60), b"".join(err).decode()
            # It is looked at once a second: 200 more filings (two seconds or more) would
            # have warned again if it warned more than once.
            after = sent[0] + 200
            server.wait(lambda: sent[0] >= after, timeout=60)
        finally:
            stop.set()
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=WAIT)
            reader.join(20)
    text = b"".join(err).decode()
    assert text.count("latency keeps growing") == 1, text


def test_a_reconnect_storm_with_traffic_cannot_keep_closing_links_alive(
    servers: list[RawServer],
) -> None:
    # Every connection: a filing and a heartbeat, then "reconnect within 0 s" plus a heartbeat
    # every 10 ms for as long as the client stays; the server never reads. A closing link
    # keeps receiving whole frames, so its close deadline must hold whatever the peer sends.
    def storm(sock: socket.socket, n: int) -> None:
        upgrade(sock)
        sock.sendall(filing_frame(n) + HEARTBEAT)
        server.note(n)
        beat = message(type="reconnect", within_seconds=0) + HEARTBEAT
        while True:
            sock.sendall(beat)
            time.sleep(0.01)  # the storm's pace (the misbehaviour), not a synchronisation

    server = start(servers, storm)
    with secfeed_popen("tail", "--url", server.url) as proc:
        server.wait(lambda: server.connections >= 1)
        samples = _samples(proc, 8)
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=WAIT)
        took = time.monotonic() - signalled
    fds = [s[0] for s in samples]
    threads = [s[1] for s in samples]
    print(
        f"storm with traffic: {server.connections} connections, fds max {max(fds)} last"
        f" {fds[-1]}, threads max {max(threads)} last {threads[-1]}, SIGTERM exit {took:.2f} s"
    )
    assert server.connections >= 10, err  # the storm really churned
    assert proc.returncode == 143, err.decode()
    # Single digits, as the issue asks: std streams, a pipe, the live and the pending socket,
    # and the few closing ones still inside their 0.1 s close window (one thread each).
    assert max(fds) <= 9, samples
    assert max(threads) <= 9, samples
    assert took < 5, took  # a bound (it was 26-29 s); the note gives the measured time
    printed = accessions(ndjson(out))
    assert len(printed) == len(set(printed))
