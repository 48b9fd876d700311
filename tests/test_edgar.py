"""The EDGAR client (details/edgar.py) against http.server playing SEC on 127.0.0.1: the
User-Agent, gzip, the cache, SEC's 403 page and 429 stopping every request, the pace."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from secfeed_cli.details.edgar import (
    BLOCK,
    Blocked,
    EdgarClient,
    NotFound,
    Pace,
    index_headers_path,
    submission_path,
)
from secfeed_cli.emulator.server import Emulator

from .edgar_docs import document
from .patience import WAIT

UA = "Test Desk test@example.com"
FORM4 = document("form4-full-S-officer-aar-0001127602-25-001055.txt").read_bytes()
RATE_PAGE = document("sec-rate-threshold-exceeded.html").read_bytes()


class Sec:
    """Routes: path -> (status, body); each request recorded (path, User-Agent, time)."""

    def __init__(self, keep_alive: bool = False) -> None:
        self.routes: dict[str, tuple[int, bytes]] = {}
        self.connections = 0
        self.ended = 0  # connections the client closed (or the server ended)
        self._ends = threading.Condition()
        self.seen: list[tuple[str, str, float]] = []
        #: Set: every answer is held until close() (an EDGAR that never answers in time).
        self.stall = threading.Event()
        self._release = threading.Event()
        sec = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def setup(self) -> None:
                sec.connections += 1
                super().setup()

            def finish(self) -> None:
                super().finish()
                with sec._ends:
                    sec.ended += 1
                    sec._ends.notify_all()

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                sec.seen.append((self.path, self.headers.get("User-Agent", ""), time.monotonic()))
                if sec.stall.is_set():
                    sec._release.wait(60)
                status, body = sec.routes.get(self.path, (404, b"Not Found"))
                if "gzip" in self.headers.get("Accept-Encoding", ""):
                    body = gzip.compress(body)
                    self.send_response(status)
                    self.send_header("Content-Encoding", "gzip")
                else:
                    self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_ended(self, n: int, timeout: float = WAIT) -> bool:
        """Whether ``n`` connections have ended within ``timeout`` seconds."""
        with self._ends:
            return self._ends.wait_for(lambda: self.ended >= n, timeout)

    def close(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sec() -> Iterator[Sec]:
    server = Sec()
    yield server
    server.close()


class Clock:
    """A clock that moves only when slept on (or told to)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


PATH = submission_path(1750, "0001127602-25-001055")


def test_a_document_comes_with_the_user_agent_gzipped_then_from_the_cache(
    sec: Sec, tmp_path: Path
) -> None:
    sec.routes[PATH] = (200, FORM4)
    client = EdgarClient(UA, base_url=sec.url, cache=tmp_path)
    assert client.document(PATH) == FORM4
    assert [(p, ua) for p, ua, _ in sec.seen] == [(PATH, UA)]
    again = EdgarClient(UA, base_url=sec.url, cache=tmp_path)  # another run, the same cache
    assert again.document(PATH) == FORM4 and len(sec.seen) == 1
    origin = "http_127.0.0.1_" + sec.url.rsplit(":", 1)[1]  # kept apart for each EDGAR
    assert (tmp_path / origin / "1750" / "000112760225001055" / "0001127602-25-001055.txt").exists()


def test_the_paths_are_edgars() -> None:
    assert PATH == "/Archives/edgar/data/1750/000112760225001055/0001127602-25-001055.txt"
    assert index_headers_path(803164, "0000905729-24-000095") == (
        "/Archives/edgar/data/803164/000090572924000095/0000905729-24-000095-index-headers.html"
    )
    with pytest.raises(ValueError):
        submission_path(1750, "../../etc/passwd")


@pytest.mark.parametrize("status", [403, 429])
def test_secs_refusal_stops_every_request_for_ten_minutes(sec: Sec, status: int) -> None:
    sec.routes[PATH] = (status, RATE_PAGE)
    other = index_headers_path(1750, "0001127602-25-001055")
    sec.routes[other] = (200, b"<html/>")
    clock = Clock()
    client = EdgarClient(UA, base_url=sec.url, clock=clock, sleep=clock.sleep)
    with pytest.raises(Blocked, match=f"SEC answered {status}"):
        client.document(PATH)
    with pytest.raises(Blocked, match="no EDGAR request for 10 min"):
        client.document(other)  # another document: not asked for either
    assert len(sec.seen) == 1
    clock.now += BLOCK + 1
    assert client.document(other) == b"<html/>" and len(sec.seen) == 2


def test_a_document_not_there_yet_is_not_found(sec: Sec) -> None:
    client = EdgarClient(UA, base_url=sec.url)
    with pytest.raises(NotFound):
        client.document(PATH)


def test_no_user_agent_no_client() -> None:
    with pytest.raises(ValueError, match="contact email"):
        EdgarClient("secfeed")


@pytest.mark.unit
def test_the_pace_spaces_requests_across_threads_of_callers() -> None:
    clock = Clock()
    pace = Pace(5.0, clock, clock.sleep)
    starts = []
    for _ in range(10):
        pace.wait()
        starts.append(clock.now)
    gaps = [round(b - a, 9) for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) == 0.2  # 1 / rate apart at least
    # ... and never more than 5 within 1.1 s: arrivals the network brings closer together
    # than they were sent (by up to 100 ms) still keep SEC's count.
    assert all(round(starts[i + 5] - starts[i], 9) >= 1.1 for i in range(len(starts) - 5))
    assert round(starts[-1] - starts[0], 9) == 1.9  # 0 .2 .4 .6 .8, then 1.1 1.3 ... 1.9
    with pytest.raises(ValueError):
        Pace(11.0)


def test_the_rate_at_secs_end_stays_under_its_limit(sec: Sec) -> None:
    for n in range(25):
        sec.routes[submission_path(1750, f"0001127602-25-{n:06d}")] = (200, b"x")
    client = EdgarClient(UA, base_url=sec.url, rate=5.0)
    threads = [
        threading.Thread(
            target=lambda k=k: [
                client.document(submission_path(1750, f"0001127602-25-{n:06d}"))
                for n in range(k, 25, 4)
            ]
        )
        for k in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    times = sorted(t for _, _, t in sec.seen)
    assert len(times) == 25
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= 10, busiest  # SEC's limit; paced at 5 a second


def test_one_connection_serves_many_documents_when_edgar_keeps_it_open() -> None:
    sec = Sec(keep_alive=True)
    try:
        paths = [submission_path(1750, f"0001127602-25-{n:06d}") for n in range(6)]
        for path in paths:
            sec.routes[path] = (200, FORM4)
        client = EdgarClient(UA, base_url=sec.url, rate=10.0)
        assert all(client.document(path) == FORM4 for path in paths)
        client.close()
        assert len(sec.seen) == 6 and sec.connections == 1
    finally:
        sec.close()


def test_a_closed_client_can_ask_again_and_its_next_close_closes_that_connection() -> None:
    """secfeed ui asks EDGAR on demand after the run (which closed the client) has ended."""
    sec = Sec(keep_alive=True)
    try:
        path = submission_path(1750, "0001127602-25-000001")
        sec.routes[path] = (200, FORM4)
        client = EdgarClient(UA, base_url=sec.url, rate=10.0)
        assert client.document(path, cache=False) == FORM4
        client.close()
        assert sec.wait_ended(1)
        assert client.document(path, cache=False) == FORM4
        assert sec.connections == 2
        client.close()
        assert sec.wait_ended(2), "the connection opened after a close was left open"
    finally:
        sec.close()


def test_a_server_that_closes_each_connection_is_asked_on_new_ones(sec: Sec) -> None:
    paths = [submission_path(1750, f"0001127602-25-{n:06d}") for n in range(3)]
    for path in paths:
        sec.routes[path] = (200, FORM4)
    client = EdgarClient(UA, base_url=sec.url, rate=10.0)  # sec speaks HTTP/1.0: no reuse
    assert all(client.document(path) == FORM4 for path in paths)
    assert sec.connections == 3


def test_secs_limit_holds_at_the_server_under_a_backlog(
    emulator_factory: Callable[..., Emulator], tmp_path: Path
) -> None:
    """tail --details over a 60-filing backlog (the sample's, about half of it forms with
    details), end to end: every such filing asked for (each a 404 here, so asked twice), and
    never more than SEC's 10 requests in one second at the server, at the default 5 a second.
    About 12 s: the pace itself, over any number of requests, is proven with an injected clock
    (test_the_pace_spaces_requests_across_threads_of_callers); this holds the whole path to
    it, a burst of 60 requests that unpaced would arrive within a second."""
    from .conftest import cli_env, ndjson, secfeed_process

    server = Sec(keep_alive=True)
    em = emulator_factory(backlog=60)
    try:
        res = secfeed_process(
            "tail",
            "--url",
            em.url,
            "--backlog-only",
            "--details",
            "--details-wait",
            "600",
            "--user-agent",
            UA,
            "--edgar-url",
            server.url,
            env=cli_env(XDG_CACHE_HOME=str(tmp_path / "cache")),
        )
    finally:
        server.close()
    assert res.returncode == 0, res.stderr
    records = ndjson(res.stdout)
    asked = [r for r in records if "details" in r]
    assert len(records) == 60 and len(asked) >= 20
    assert all(r["details"]["status"] == "unavailable" for r in asked)
    times = sorted(t for _, _, t in server.seen)
    assert len(times) == 2 * len(asked)  # each asked, and asked again once after its 404
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= 10, busiest
