"""`secfeed tickers update` against hostile or broken sources on 127.0.0.1: a gzip bomb, a
trickle, redirects to another host or to plain http, implausible maps, a password in the URL.
Each source is a real http.server (or a raw socket where none would misbehave so)."""

from __future__ import annotations

import base64
import functools
import gzip
import json
import socket
import ssl
import subprocess
import sys
import threading
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, cli_env

UA = "secfeed tests tests@example.com"
#: SEC's company_tickers.json of 2026-02-13 (shared/data/SOURCES.md), gzipped.
REAL = gzip.decompress(
    (ROOT / "tests" / "data" / "sec-company-tickers-2026-02-13.json.gz").read_bytes()
)


def sec_map(rows: int) -> bytes:
    return json.dumps(
        {str(i): {"cik_str": 1000 + i, "ticker": f"T{i}", "title": f"Co {i}"} for i in range(rows)}
    ).encode()


@functools.lru_cache(maxsize=1)
def bomb() -> bytes:
    """A gzip body of about 250 KB that decompresses to 256 MiB of zeros."""
    pack = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    return b"".join(pack.compress(zeros) for _ in range(256)) + pack.flush()


Answer = Callable[[BaseHTTPRequestHandler], None]


class Source:
    """An HTTP(S) server on 127.0.0.1 whose answer to each GET is ``answer(handler)``."""

    def __init__(self, answer: Answer, tls: ssl.SSLContext | None = None) -> None:
        self.answer = answer
        self.requests: list[dict[str, str]] = []
        source = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                source.requests.append({k.lower(): v for k, v in self.headers.items()})
                try:
                    source.answer(self)
                except OSError:
                    pass  # the client went away (it gave up, as it should)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}/files/company_tickers.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def send(handler: BaseHTTPRequestHandler, code: int, body: bytes, **headers: str) -> None:
    handler.send_response(code)
    for key, value in headers.items():
        handler.send_header(key.replace("_", "-"), value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@pytest.fixture
def sources() -> Iterator[Callable[..., Source]]:
    made: list[Source] = []

    def make(answer: Answer, tls: ssl.SSLContext | None = None) -> Source:
        made.append(Source(answer, tls))
        return made[-1]

    yield make
    for source in made:
        source.close()


def update(cache: Path, *args: str, timeout: float = 60, **env: str) -> Any:
    """`secfeed tickers update ARGS` to completion (``timeout``: a bound, not a measurement)."""
    return subprocess.run(
        [sys.executable, "-m", "secfeed_cli", "tickers", "update", "--user-agent", UA, *args],
        capture_output=True,
        timeout=timeout,
        env=cli_env(XDG_CACHE_HOME=str(cache), **env),
        cwd=ROOT,
    )


def _peak_kb(cache: Path) -> int:
    return int((cache / "rss").read_text())


def cached(cache: Path) -> bytes | None:
    path = cache / "secfeed" / "company_tickers.json"
    return path.read_bytes() if path.exists() else None


def test_a_gzip_bomb_stops_at_the_cap_on_decompressed_bytes(
    sources: Callable[..., Source], tmp_path: Path
) -> None:
    src = sources(lambda h: send(h, 200, bomb(), Content_Encoding="gzip"))
    # Run through a small wrapper that reports the child's peak memory (ru_maxrss, in KiB).
    wrapper = (
        "import resource, subprocess, sys;"
        "code = subprocess.run(sys.argv[1:]).returncode;"
        f"open({str(tmp_path / 'rss')!r}, 'w').write("
        "str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss));"
        "sys.exit(code)"
    )
    res = subprocess.run(
        [sys.executable, "-c", wrapper, sys.executable, "-m", "secfeed_cli", "tickers", "update"]
        + ["--user-agent", UA, "--source", src.url],
        capture_output=True,
        timeout=60,
        env=cli_env(XDG_CACHE_HOME=str(tmp_path)),
        cwd=ROOT,
    )
    peak_mb = _peak_kb(tmp_path) / 1024
    print(f"gzip bomb ({len(bomb()):,} bytes -> 256 MiB): peak RSS {peak_mb:.0f} MB")
    assert res.returncode == 4, res.stderr
    assert b"sent more than 16 MiB once decompressed; the cached map is unchanged" in res.stderr
    assert peak_mb < 150, peak_mb  # a bound far below the 256 MiB (and its copies) it held
    assert cached(tmp_path) is None


def test_one_deadline_for_the_whole_update_whatever_the_pace(tmp_path: Path) -> None:
    # A raw socket: the status line and headers, then the body a byte a second.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    stop = threading.Event()

    def trickle() -> None:
        sock, _ = listener.accept()
        with sock:
            sock.recv(65536)
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
            while not stop.wait(1.0):  # the pace is the misbehaviour, not a synchronisation
                try:
                    sock.sendall(b"{")
                except OSError:
                    return

    threading.Thread(target=trickle, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/company_tickers.json"
    try:
        res = update(tmp_path, "--source", url, "--timeout", "2", timeout=30)
    finally:
        stop.set()
        listener.close()
    assert res.returncode == 4, res.stderr
    said = f"{url} did not answer in full within the time allowed (--timeout)"
    assert said.encode() in res.stderr
    assert cached(tmp_path) is None


def test_a_redirect_to_another_host_is_refused_naming_it(
    sources: Callable[..., Source], tmp_path: Path
) -> None:
    other = sources(lambda h: send(h, 200, sec_map(1)))
    # "localhost" is another host name than "127.0.0.1", on this machine all the same.
    elsewhere = f"http://localhost:{other.port}/evil.json"
    src = sources(lambda h: send(h, 302, b"", Location=elsewhere))
    res = update(tmp_path, "--source", src.url, "--force")
    assert res.returncode == 4, res.stderr
    assert (
        f"{src.url} redirected to {elsewhere}; secfeed does not follow a redirect to another host"
    ).encode() in res.stderr
    assert other.requests == [] and cached(tmp_path) is None


@pytest.fixture
def tls(tmp_path: Path) -> tuple[ssl.SSLContext, str]:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    return context, str(bundle)


def test_a_redirect_from_https_to_http_is_refused_and_one_on_the_same_host_followed(
    sources: Callable[..., Source], tmp_path: Path, tls: tuple[ssl.SSLContext, str]
) -> None:
    context, bundle = tls
    plain = sources(lambda h: send(h, 200, sec_map(1)))
    down = sources(lambda h: send(h, 302, b"", Location=plain.url), tls=context)
    res = update(tmp_path, "--source", down.url, "--force", SSL_CERT_FILE=bundle)
    assert res.returncode == 4, res.stderr
    assert (
        f"redirected to {plain.url}; secfeed does not follow a redirect from https to http"
    ).encode() in res.stderr
    assert plain.requests == [] and cached(tmp_path) is None

    def moved(h: BaseHTTPRequestHandler) -> None:
        if h.path == "/old.json":
            send(h, 301, b"", Location="/files/company_tickers.json")
        else:
            send(h, 200, REAL)

    same = sources(moved, tls=context)
    old = f"https://127.0.0.1:{same.port}/old.json"
    res = update(tmp_path, "--source", old, SSL_CERT_FILE=bundle)
    assert res.returncode == 0, res.stderr
    assert cached(tmp_path) == REAL


def test_an_implausible_map_is_refused_unless_forced(
    sources: Callable[..., Source], tmp_path: Path
) -> None:
    body = {"map": REAL}
    src = sources(lambda h: send(h, 200, body["map"]))
    assert update(tmp_path, "--source", src.url).returncode == 0  # the real map: taken
    for rows, said in ((1, b"far fewer than the 10,338"), (50_000, b"more than any real one")):
        body["map"] = sec_map(rows)
        res = update(tmp_path, "--source", src.url)
        assert res.returncode == 1, res.stderr
        assert said in res.stderr and b"--force to take it anyway" in res.stderr
        assert cached(tmp_path) == REAL
    res = update(tmp_path, "--source", src.url, "--force")
    assert res.returncode == 0, res.stderr
    assert cached(tmp_path) == sec_map(50_000)


def test_a_password_in_the_source_is_masked_everywhere(
    sources: Callable[..., Source], tmp_path: Path
) -> None:
    secret = "s3cretpw"
    basic = base64.b64encode(f"alice:{secret}".encode())
    answers = [403, 200]
    src = sources(lambda h: send(h, answers.pop(0), REAL))
    url = src.url.replace("http://", f"http://alice:{secret}@")
    res = update(tmp_path, "--source", url)
    assert res.returncode == 4
    assert f"{src.url} answered HTTP 403".encode() in res.stderr
    res = update(tmp_path, "--source", url)
    assert res.returncode == 0, res.stderr
    assert src.requests[-1]["authorization"] == f"Basic {basic.decode()}"
    info = subprocess.run(
        [sys.executable, "-m", "secfeed_cli", "tickers", "info"],
        capture_output=True,
        timeout=30,
        env=cli_env(XDG_CACHE_HOME=str(tmp_path)),
        cwd=ROOT,
    )
    assert f"source:  {src.url}".encode() in info.stdout
    for text in (res.stderr, info.stdout, info.stderr, *_files(tmp_path / "secfeed")):
        assert secret.encode() not in text and basic not in text


def _files(folder: Path) -> list[bytes]:
    return [p.read_bytes() for p in folder.iterdir() if p.is_file()]


@pytest.mark.parametrize(
    "agent", ["Jane jane@example.com\r\nX-Evil: 1", "Jane\x1b[2J j@example.com"]
)
def test_a_control_character_in_the_user_agent_is_a_usage_error(agent: str, tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "secfeed_cli", "tickers", "update", "--user-agent", agent]
        + ["--source", "http://127.0.0.1:9/x"],
        capture_output=True,
        timeout=30,
        env=cli_env(XDG_CACHE_HOME=str(tmp_path)),
        cwd=ROOT,
    )
    assert res.returncode == 2, res.stderr
    assert b"--user-agent has a control character" in res.stderr
    assert b"Traceback" not in res.stderr and b"internal error" not in res.stderr
