"""`secfeed serve`: each documented behaviour, checked with websocket-client over loopback."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
import websocket

from secfeed_cli.emulator.faults import MALFORMED
from secfeed_cli.emulator.feed import load_sample
from secfeed_cli.emulator.server import Emulator
from secfeed_cli.wire.filing import Filing, parse_time
from secfeed_cli.wire.protocol import ServerError, parse_frame

from .conftest import ROOT, cli_env
from .patience import WAIT

Factory = Callable[..., Emulator]
KEY = "s3cret-KEY/+="


_open: list[websocket.WebSocket] = []


def connect(url: str, **kw: Any) -> websocket.WebSocket:
    kw.setdefault("timeout", 10)
    ws = websocket.create_connection(url, **kw)
    _open.append(ws)
    return ws


@pytest.fixture(autouse=True)
def _close_clients(emulator_factory: Factory) -> Any:
    # Depends on the emulators' fixture so that it is torn down first: the clients go before
    # the server stops, which otherwise waits its close_timeout (2 s) for each client's reply.
    yield
    # Cut the clients' TCP connections: a closing handshake here would only wait (on a server
    # busy sending) and test nothing; tests that check closing do it themselves.
    while _open:
        _open.pop().shutdown()  # type: ignore[no-untyped-call]


def recv_json(ws: websocket.WebSocket) -> dict[str, Any]:
    opcode, data = ws.recv_data()
    assert opcode == websocket.ABNF.OPCODE_TEXT
    decoded: dict[str, Any] = json.loads(data)
    return decoded


def read_filings(ws: websocket.WebSocket, n: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while len(out) < n:
        msg = recv_json(ws)
        if msg["type"] == "fillings":
            out.append(msg)
    return out


def test_sample_is_real_edgar_data_in_wire_schema() -> None:
    sample = load_sample()
    assert len(sample) == 3409  # unique accessions in the 2026-01-12 capture
    accepted = [parse_time(r["accepted_time"]) for r in sample]
    assert accepted == sorted(accepted)
    first = sample[0]
    assert set(first) == {
        "type",
        "form",
        "description",
        "filling_date",
        "accepted_time",
        "accession_no",
        "cik",
    }
    assert first["type"] == "fillings" and isinstance(first["cik"], int)
    assert len({r["accession_no"] for r in sample}) == len(sample)


@pytest.mark.parametrize(
    "how",
    ["authorization", "basic", "x-apikey", "query", "path"],
)
def test_key_accepted_each_way(emulator_factory: Factory, how: str) -> None:
    em = emulator_factory(api_key=KEY, backlog=3)
    url, header = em.url, []
    if how == "authorization":
        header = [f"Authorization: {KEY}"]
    elif how == "basic":
        header = ["Authorization: Basic " + base64.b64encode(f"finfeedapi:{KEY}".encode()).decode()]
    elif how == "x-apikey":
        header = [f"X-APIKey: {KEY}"]
    elif how == "query":
        url += "/?apikey=" + "s3cret-KEY%2F%2B%3D"
    else:
        url += "/v1/APIKEY-" + "s3cret-KEY%2F+="
    ws = connect(url, header=header)
    filings = read_filings(ws, 3)
    assert all(f["is_historical"] for f in filings)
    ws.close()


@pytest.mark.parametrize("header", [[], ["Authorization: wrong"], ["X-APIKey: s3cret-KEY"]])
def test_missing_or_wrong_key_rejected_in_band(
    emulator_factory: Factory, header: list[str]
) -> None:
    em = emulator_factory(api_key=KEY)
    ws = connect(em.url, header=header)
    assert recv_json(ws) == {"type": "error", "message": "Invalid API key"}
    opcode, _ = ws.recv_data(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    em.wait_for("auth-rejected")


def test_backlog_then_live_in_publish_order(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=25, rate=200)
    ws = connect(em.url)
    backlog = read_filings(ws, 25)
    live = read_filings(ws, 40)
    ws.close()
    assert all(f["is_historical"] for f in backlog)
    assert not any(f["is_historical"] for f in live)
    got = [f["accession_no"] for f in backlog + live]
    # Publish order is sample order: backlog and live together are one consecutive run of it
    # (where it starts depends on how many went live before this client connected).
    sample = [r["accession_no"] for r in em.feed.sample]
    start = sample.index(got[0])
    assert got == sample[start : start + len(got)]
    times = [parse_time(f["discovered_time"]) for f in backlog + live]
    assert times == sorted(times)
    for f in live:
        assert isinstance(parse_frame(json.dumps(f)), Filing)
        assert len(f["discovered_time"].split(".")[1]) == 8  # 7 digits and Z


def test_backlog_is_shared_so_reconnects_overlap(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=10)
    a = connect(em.url)
    first = [f["accession_no"] for f in read_filings(a, 10)]
    published = [p.accession_no for p in em.publish(5)]
    live = read_filings(a, 5)
    assert [f["accession_no"] for f in live] == published
    assert not any(f["is_historical"] for f in live)
    b = connect(em.url)  # one global feed: the new backlog is the last 10 published
    second = read_filings(b, 10)
    assert [f["accession_no"] for f in second] == (first + published)[-10:]
    assert all(f["is_historical"] for f in second)


def test_heartbeat_only_after_hello_and_only_when_idle(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=50)
    silent = connect(em.url)
    talker = connect(em.url)
    talker.send(json.dumps({"type": "hello", "heartbeat": True}))
    kinds = [recv_json(talker)["type"] for _ in range(52)]
    assert kinds[:50] == ["fillings"] * 50  # no heartbeat while the backlog is being sent
    assert kinds[50:] == ["heartbeat", "heartbeat"]
    # Two heartbeats (a second apart) went to the other connection; none came to this one.
    read_filings(silent, 50)
    silent.settimeout(0.2)
    with pytest.raises(websocket.WebSocketTimeoutException):
        silent.recv()


def test_hearbeat_spelling_switch(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=0, heartbeat_spelling="hearbeat")
    ws = connect(em.url)
    ws.send('{"type":"hello","heartbeat":true}')
    assert recv_json(ws) == {"type": "hearbeat"}


@pytest.mark.parametrize(
    "message", ["not json", "[1]", '{"type":"subscribe"}', '{"type":"hello","heartbeat":"yes"}']
)
def test_malformed_client_message_gets_error_and_close(
    emulator_factory: Factory, message: str
) -> None:
    em = emulator_factory(backlog=0)
    ws = connect(em.url)
    ws.send(message)
    reply = recv_json(ws)
    assert reply["type"] == "error" and reply["message"].startswith("Invalid message")
    opcode, _ = ws.recv_data(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE


def test_reconnect_instruction_then_close(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=1, reconnect_every=0.2, reconnect_within=0.3)
    ws = connect(em.url)
    read_filings(ws, 1)
    msg = recv_json(ws)
    assert msg["type"] == "reconnect" and msg["within_seconds"] == 0.3
    assert len(msg["before_time"].split(".")[1]) == 8
    opcode, data = ws.recv_data(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert int.from_bytes(data[:2], "big") == 1012


def test_overflow_when_the_client_does_not_read(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=0, rate=20_000, buffer=500)
    small = [(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)]
    ws = connect(em.url, sockopt=small)
    event = em.wait_for("overflow")  # the real socket filled up, then the buffer
    frames = []
    while True:
        opcode, data = ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            break
        frames.append(json.loads(data))
    assert frames[-1] == {"type": "error", "message": ServerError.OVERFLOW}
    assert all(f["type"] == "fillings" for f in frames[:-1])
    assert len(frames) - 1 == int(event.detail)  # what was written before the buffer overflowed


def test_fault_drop_cuts_tcp_without_close_frame(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=20, drop_after=7, fault_connections=1)
    ws = connect(em.url)
    assert len(read_filings(ws, 7)) == 7
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        ws.recv_data(control_frame=True)
    again = connect(em.url)  # the fault applies to the first connection only
    assert len(read_filings(again, 20)) == 20


def test_fault_stall_keeps_socket_open_silently(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=20, stall_after=5)
    ws = connect(em.url)
    ws.send('{"type":"hello","heartbeat":true}')
    assert len(read_filings(ws, 5)) == 5
    em.wait_for("fault-stall")
    ws.settimeout(1.5)  # longer than the heartbeat period: a heartbeat would have come
    with pytest.raises(websocket.WebSocketTimeoutException):
        ws.recv()
    assert ws.connected


def test_fault_malformed_frames_interleaved(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=30, malformed_every=3, fault_connections=1)
    ws = connect(em.url, skip_utf8_validation=True)
    seen = []
    filings = 0
    while filings < 30:
        opcode, data = ws.recv_data()
        try:
            msg = json.loads(data)
        except ValueError:
            msg = None
        if (
            isinstance(msg, dict)
            and msg.get("type") == "fillings"
            and "cik" in msg
            and isinstance(msg["cik"], int)
        ):
            filings += 1
        else:
            seen.append(opcode)
    names = [e.detail for e in em.history() if e.name == "fault-malformed"]
    assert names == [name for name, _ in MALFORMED]
    assert len(seen) == len(MALFORMED)
    assert websocket.ABNF.OPCODE_BINARY in seen


def test_firehose_sends_n_unique_filings(emulator_factory: Factory) -> None:
    em = emulator_factory(firehose=5000)
    ws = connect(em.url)
    got = read_filings(ws, 5000)
    assert len({f["accession_no"] for f in got}) == 5000
    assert all(f["is_historical"] for f in got)


def test_serve_prints_its_url_first() -> None:
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "secfeed_cli",
            "serve",
            "--port",
            "0",
            "--rate",
            "0",
            "--backlog",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
        cwd=ROOT,
    ) as proc:
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().decode().strip()
            assert url.startswith("ws://127.0.0.1:")
            ws = connect(url)
            assert len(read_filings(ws, 2)) == 2
            ws.close()
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == 143
    assert b"listening on ws://127.0.0.1:" in err and b"Traceback" not in err


def test_the_event_log_is_bounded() -> None:
    from secfeed_cli.emulator.server import EVENT_LOG, Emulator, EmulatorConfig

    em = Emulator(EmulatorConfig())
    for n in range(EVENT_LOG + 5):
        em.record("connect", n)
    assert len(em.events) == EVENT_LOG
    assert em.events[0].conn == 5 and em.events[-1].conn == EVENT_LOG + 4


def test_the_emulator_plays_edgars_indexes_from_a_folder(
    emulator_factory: Callable[..., Emulator],
) -> None:
    import urllib.error
    import urllib.request

    indexes = ROOT / "tests" / "data" / "edgar" / "indexes"
    em = emulator_factory(backlog=1, edgar_indexes=str(indexes))
    base = em.url.replace("ws://", "http://")

    def get(path: str) -> tuple[int, str, bytes]:
        request = urllib.request.Request(base + path, headers={"User-Agent": "T t@example.com"})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, answer.headers["Content-Type"], answer.read()
        except urllib.error.HTTPError as refused:
            return refused.code, "", b""

    daily = "/Archives/edgar/daily-index/2020/QTR1/form.20200318.idx"
    assert get(daily) == (200, "text/plain", (indexes / "form.20200318.idx").read_bytes())
    # The feed's page by its query, in any order; the capture byte for byte.
    page = (indexes / "getcurrent-start0100.xml").read_bytes()
    atom = "/cgi-bin/browse-edgar?output=atom&start=100&count=100&action=getcurrent"
    assert get(atom) == (200, "application/atom+xml", page)
    for missing in (
        "/Archives/edgar/daily-index/2020/QTR1/form.20200319.idx",
        "/cgi-bin/browse-edgar?action=getcurrent&start=300&output=atom",
        "/cgi-bin/browse-edgar?action=getcompany&start=100&output=atom",
        "/cgi-bin/browse-edgar?action=getcurrent&start=-1&output=atom",
        "/cgi-bin/browse-edgar?action=getcurrent&start=" + "9" * 5000 + "&output=atom",
    ):
        assert get(missing)[0] == 404, missing
    asked = [e.detail for e in em.history() if e.name == "edgar"]
    assert asked[:2] == [daily, atom] and em.edgar_agents == {"T t@example.com"}
    res = subprocess.run(
        [sys.executable, "-m", "secfeed_cli", "serve", "--edgar-indexes", str(indexes / "none")],
        capture_output=True,
        env=cli_env(),
    )
    assert res.returncode == 2 and b"'--edgar-indexes': Directory" in res.stderr
