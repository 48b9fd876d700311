"""The bounded HTTP GET (feed/httpget.py) and the proxies it goes through (feed/proxy.py),
in-process, against raw-socket servers on 127.0.0.1 that answer exactly what a test says:
redirects, keep-alive, chunks, gzip, caps, HTTP CONNECT and SOCKS5 proxies. The subprocess
tests (tickers, details) show the same code from the CLI; these reach each of its branches."""

from __future__ import annotations

import gzip
import socket
import time
from collections.abc import Callable, Iterator

import pytest

from secfeed_cli import __version__
from secfeed_cli.feed import httpget, proxy
from secfeed_cli.feed.httpget import Answer, FetchError, Kept, get, is_loopback, shown
from secfeed_cli.feed.sockets import HandshakeError

from .rawserver import RawServer, read_request

pytestmark = pytest.mark.unit

MB = 1 << 20


@pytest.fixture(autouse=True)
def _no_proxy_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


Reply = bytes | Callable[[socket.socket, bytes], object]


@pytest.fixture
def serve() -> Iterator[Callable[..., RawServer]]:
    """``serve(*replies)``: a server answering its requests in turn, on whatever connection
    they come; a reply is the bytes to send, or a function of the socket and the request.
    After each reply the connection stays open for the next request, unless the reply was
    the last one; ``close_after`` closes it after each."""
    servers: list[RawServer] = []

    def make(*replies: Reply, close_after: bool = False) -> RawServer:
        todo = list(replies)

        def handler(sock: socket.socket, n: int) -> None:
            while todo:
                try:
                    request = read_request(sock)
                except ConnectionError:
                    return
                server.requests.append(request)
                server.note(n)
                reply = todo.pop(0)
                if callable(reply):
                    reply(sock, request)
                else:
                    sock.sendall(reply)
                if close_after:
                    return
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(4096):
                pass

        server = RawServer(handler)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def ok(body: bytes = b"hello", *extra: str, status: str = "200 OK") -> bytes:
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def moved(location: str, status: int = 302) -> bytes:
    return f"HTTP/1.1 {status} Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n".encode()


def url(server: RawServer, path: str = "/x") -> str:
    return f"http://127.0.0.1:{server.port}{path}"


def fetch(target: str, **kw: object) -> Answer:
    options: dict[str, object] = {"timeout": 30.0, "max_body": MB, "max_decoded": MB}
    options.update(kw)
    return get(target, {}, **options)  # type: ignore[arg-type]


def lines(request: bytes) -> list[str]:
    return request.decode("latin-1").split("\r\n\r\n")[0].split("\r\n")


# ---- what is sent, what comes back


def test_a_get_sends_one_plain_request_and_returns_status_reason_lowercased_headers_body(
    serve: Callable[..., RawServer],
) -> None:
    server = serve(ok(b"body!", "X-Thing: A", "x-thing: B", status="203 Non-Authoritative"))
    answer = get(url(server, "/a/b?q=1&r=2"), {"Accept": "text/html"}, 30.0, MB, MB)
    assert (answer.status, answer.reason, answer.body) == (203, "Non-Authoritative", b"body!")
    assert answer.headers["x-thing"] == "A, B" and answer.headers["content-length"] == "5"
    assert answer.url == url(server, "/a/b?q=1&r=2")
    sent = lines(server.requests[0])
    assert sent == [
        "GET /a/b?q=1&r=2 HTTP/1.1",
        f"Host: 127.0.0.1:{server.port}",
        "Connection: close",
        "Accept-Encoding: gzip",
        "Accept: text/html",
        f"User-Agent: secfeed/{__version__}",
    ]


def test_an_empty_path_asks_for_the_root_and_a_given_user_agent_is_the_only_one(
    serve: Callable[..., RawServer],
) -> None:
    server = serve(ok())
    get(f"http://127.0.0.1:{server.port}", {"user-agent": "Jane jane@example.com"}, 30.0, MB, MB)
    sent = lines(server.requests[0])
    assert sent[0] == "GET / HTTP/1.1"
    assert [line for line in sent if line.lower().startswith("user-agent")] == [
        "user-agent: Jane jane@example.com"
    ]


def test_a_control_character_in_a_header_is_refused_before_anything_is_sent(
    serve: Callable[..., RawServer],
) -> None:
    server = serve(ok())
    with pytest.raises(FetchError, match="a control character in the X-Evil header"):
        get(url(server), {"X-Evil": "a\r\nHost: elsewhere"}, 30.0, MB, MB)
    assert server.connections == 0


def test_a_password_in_the_url_goes_as_basic_credentials_to_this_machine_only(
    serve: Callable[..., RawServer],
) -> None:
    server = serve(ok())
    fetch(f"http://us%3Aer:p%40ss@127.0.0.1:{server.port}/")
    assert "Authorization: Basic dXM6ZXI6cEBzcw==" in lines(server.requests[0])  # us:er:p@ss
    with pytest.raises(FetchError, match=r"http://example\.invalid/p: a password goes only"):
        fetch("http://user:pw@example.invalid/p?secret=1")


def test_a_refused_connection_is_one_line_naming_the_url_without_its_secrets() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(FetchError) as caught:
        fetch(f"http://127.0.0.1:{port}/p?token=s3cret")
    text = str(caught.value)
    assert text.startswith(f"cannot fetch http://127.0.0.1:{port}/p: ") and "s3cret" not in text


def test_an_answer_that_is_not_http_is_named(serve: Callable[..., RawServer]) -> None:
    server = serve(b"SSH-2.0-OpenSSH\r\n\r\n")
    with pytest.raises(FetchError, match=r"cannot fetch .*did not answer with HTTP"):
        fetch(url(server))


# ---- shown, is_loopback, Kept


def test_shown_keeps_scheme_host_port_and_path_and_drops_user_password_and_query() -> None:
    assert shown("https://u:p@Example.com:8443/a/b?k=secret#f") == "https://example.com:8443/a/b"
    assert shown("http://[::1]:80/x") == "http://[::1]:80/x"
    assert shown("http://host/x") == "http://host/x"
    with pytest.raises(FetchError, match=r"^https:// URL with a bad port$"):
        shown("https://host:99999/x")


def test_loopback_is_localhost_and_the_loopback_addresses_only() -> None:
    assert is_loopback("localhost") and is_loopback("127.0.0.1") and is_loopback("127.9.9.9")
    assert is_loopback("::1")
    assert not is_loopback("10.0.0.1") and not is_loopback("localhost.example")
    assert not is_loopback("example.com")


def test_kept_gives_back_its_socket_for_the_same_server_and_closes_it_for_another() -> None:
    a, b = socket.socketpair()
    c, d = socket.socketpair()
    try:
        kept = Kept()
        here = ("http", "127.0.0.1", 80)
        kept.give(a, here)
        assert kept.take(here) is a and kept.sock is None
        kept.give(a, here)
        assert kept.take(("http", "127.0.0.1", 81)) is None and a.fileno() == -1
        kept.give(c, here)
        kept.give(c, here)  # giving again closes the one it held first (the same here)
        assert c.fileno() == -1 and kept.sock is c
        kept.close()
        assert kept.sock is None
        kept.close()
    finally:
        for s in (a, b, c, d):
            s.close()


# ---- redirects


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_on_the_same_host_is_followed_and_paced(
    serve: Callable[..., RawServer], status: int
) -> None:
    server = serve(moved("/there?x=1", status), ok(b"arrived"))
    paced: list[float] = []
    answer = fetch(url(server, "/here"), before_each=lambda: paced.append(time.monotonic()))
    assert answer.body == b"arrived" and answer.url == url(server, "/there?x=1")
    assert len(paced) == 2 and lines(server.requests[1])[0] == "GET /there?x=1 HTTP/1.1"


def test_three_redirects_are_followed_and_a_fourth_is_refused(
    serve: Callable[..., RawServer],
) -> None:
    server = serve(moved("/1"), moved("/2"), moved("/3"), ok(b"three"), close_after=True)
    assert fetch(url(server, "/0")).body == b"three"
    more = serve(*(moved(f"/{n}") for n in range(1, 5)), ok(), close_after=True)
    with pytest.raises(FetchError, match=r"/4: more than 3 redirects$"):
        fetch(url(more, "/0"))
    assert len(more.requests) == 4


def test_a_redirect_to_another_host_or_without_location_or_scheme_is_refused(
    serve: Callable[..., RawServer],
) -> None:
    server = serve(moved("http://elsewhere.invalid/p?k=v"))
    with pytest.raises(FetchError) as caught:
        fetch(url(server, "/p"))
    assert str(caught.value) == (
        f"http://127.0.0.1:{server.port}/p redirected to http://elsewhere.invalid/p;"
        " secfeed does not follow a redirect to another host: use that URL if you trust it"
    )
    bare = serve(b"HTTP/1.1 301 Moved\r\nContent-Length: 0\r\n\r\n")
    with pytest.raises(
        FetchError, match=r"redirected to \(no Location\); .* a redirect without a Location:"
    ):
        fetch(url(bare))
    odd = serve(moved(f"ftp://127.0.0.1:{server.port}/f"))
    with pytest.raises(FetchError, match="does not follow a redirect to ftp://"):
        fetch(url(odd))
    ports: list[int] = []

    def upper(sock: socket.socket, request: bytes) -> None:
        sock.sendall(moved(f"http://LOCALHOST:{ports[0]}/f"))

    case = serve(upper, ok(b"same"))
    ports.append(case.port)
    assert fetch(f"http://localhost:{case.port}/g").body == b"same"  # names match in any case


def test_a_redirect_from_https_to_http_is_refused_by_name() -> None:
    # The refusal comes before any connection: the first answer is read from a fake GET.
    answers = iter([Answer(301, "", {"location": "http://h.invalid/x"}, b"", "")])

    def fake(*args: object, **kw: object) -> Answer:
        return next(answers)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(httpget, "_get_kept", fake)
        with pytest.raises(FetchError, match="from https to http"):
            fetch("https://h.invalid/y")


# ---- keep-alive


def test_a_kept_connection_carries_the_next_get_to_the_same_server(
    serve: Callable[..., RawServer],
) -> None:
    server = serve(ok(b"one"), ok(b"two"))
    keep = Kept()
    try:
        assert fetch(url(server, "/1"), keep=keep).body == b"one"
        assert "Connection: keep-alive" in lines(server.requests[0])
        assert fetch(url(server, "/2"), keep=keep).body == b"two"
        assert keep.opened == 1 and server.connections == 1
    finally:
        keep.close()


def test_a_kept_connection_the_server_closed_is_replaced_once_quietly(
    serve: Callable[..., RawServer],
) -> None:
    server = serve(ok(b"one"), ok(b"two"), close_after=True)
    keep = Kept()
    try:
        fetch(url(server, "/1"), keep=keep)
        assert fetch(url(server, "/2"), keep=keep).body == b"two"
        assert keep.opened == 2 and server.connections == 2
    finally:
        keep.close()


@pytest.mark.parametrize(
    "answer",
    [
        ok(b"x", "Connection: close"),
        b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
        b"HTTP/1.1 200 OK\r\n\r\nx",  # to the end of the stream
    ],
    ids=["connection-close", "http-1.0", "no-length"],
)
def test_a_connection_that_cannot_carry_another_answer_is_not_kept(
    serve: Callable[..., RawServer], answer: bytes
) -> None:
    server = serve(answer, close_after=True)
    keep = Kept()
    fetch(url(server), keep=keep)
    assert keep.sock is None and keep.opened == 1


def test_a_kept_connection_is_not_used_for_another_server(
    serve: Callable[..., RawServer],
) -> None:
    first, second = serve(ok(b"1"), ok(b"1")), serve(ok(b"2"))
    keep = Kept()
    try:
        fetch(url(first), keep=keep)
        assert fetch(url(second), keep=keep).body == b"2"
        assert keep.opened == 2 and second.connections == 1
    finally:
        keep.close()


# ---- bodies


def test_a_chunked_body_with_extensions_and_a_trailer_is_joined(
    serve: Callable[..., RawServer],
) -> None:
    body = b"4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Sum: 1\r\n\r\n"
    server = serve(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n" + body)
    assert fetch(url(server)).body == b"Wikipedia in\r\n\r\nchunks."


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"zz\r\nabc\r\n0\r\n\r\n", "a broken chunked body"),
        (b"5\r\nab", "closed the connection mid-answer"),
        (b"1\r\na\r\n" + b"9" * 2000, "a broken chunked body"),  # a size line that never ends
        (b"0\r\n" + b"T" * 9000, "a broken chunked body"),  # a trailer that never ends
        (b"0\r\nX: 1\r\n", "a broken chunked body"),  # closed inside the trailer
        (b"3\r\n", "closed the connection mid-answer"),
    ],
)
def test_a_broken_chunked_body_is_named(
    serve: Callable[..., RawServer], body: bytes, problem: str
) -> None:
    def reply(sock: socket.socket, request: bytes) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
        sock.shutdown(socket.SHUT_WR)

    server = serve(reply, close_after=True)
    with pytest.raises(FetchError, match=problem):
        fetch(url(server))


def test_chunks_past_the_cap_stop_the_fetch(serve: Callable[..., RawServer]) -> None:
    chunk = b"%x\r\n%s\r\n" % (1000, b"a" * 1000)
    server = serve(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk * 3 + b"0\r\n\r\n"
    )
    assert len(fetch(url(server), max_body=3000, max_decoded=3000).body) == 3000
    server = serve(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk * 4)
    with pytest.raises(FetchError, match=r"sent more than 3,999 bytes$"):
        fetch(url(server), max_body=3999, max_decoded=MB)


def test_a_content_length_body_is_read_exactly_and_the_rest_left(
    serve: Callable[..., RawServer],
) -> None:
    server = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef")
    assert fetch(url(server)).body == b"abc"


@pytest.mark.parametrize("length", ["-1", "3x", "", " "])
def test_a_bad_content_length_is_named(serve: Callable[..., RawServer], length: str) -> None:
    server = serve(f"HTTP/1.1 200 OK\r\nContent-Length: {length}\r\n\r\nabc".encode())
    with pytest.raises(FetchError, match="sent a bad Content-Length"):
        fetch(url(server))


def test_a_body_cut_short_says_how_much_came(serve: Callable[..., RawServer]) -> None:
    def reply(sock: socket.socket, request: bytes) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"x" * 1234)
        sock.shutdown(socket.SHUT_WR)

    server = serve(reply, close_after=True)
    with pytest.raises(FetchError, match=r"closed the connection after 1,234 of 5,000 bytes$"):
        fetch(url(server))


def test_a_declared_length_over_the_cap_is_refused_before_reading(
    serve: Callable[..., RawServer],
) -> None:
    server = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 2097153\r\n\r\n")
    with pytest.raises(FetchError, match=r"sent more than 2 MiB$"):
        fetch(url(server), max_body=2 * MB)
    exact = serve(ok(b"y" * 100))
    assert len(fetch(url(exact), max_body=100, max_decoded=100).body) == 100


def test_a_body_to_the_end_of_the_stream_is_capped(serve: Callable[..., RawServer]) -> None:
    def reply(sock: socket.socket, request: bytes) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\n\r\n" + b"z" * 1001)
        sock.shutdown(socket.SHUT_WR)

    server = serve(reply, close_after=True)
    with pytest.raises(FetchError, match="sent more than 1,000 bytes$"):
        fetch(url(server), max_body=1000)
    fits = serve(reply, close_after=True)
    assert len(fetch(url(fits), max_body=1001, max_decoded=1001).body) == 1001


def test_an_endless_body_stops_at_the_cap_in_memory(serve: Callable[..., RawServer]) -> None:
    def reply(sock: socket.socket, request: bytes) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
        block = b"e" * 65536
        while True:
            sock.sendall(block)

    server = serve(reply, close_after=True)
    with pytest.raises(FetchError, match="sent more than 1 MiB"):
        fetch(url(server), max_body=MB)


def test_a_body_that_trickles_past_the_deadline_ends_at_it(
    serve: Callable[..., RawServer],
) -> None:
    def reply(sock: socket.socket, request: bytes) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nab")
        sock.recv(1)  # until the client gives up

    server = serve(reply, close_after=True)
    with pytest.raises(FetchError, match=r"did not answer in full within the time allowed"):
        fetch(url(server), timeout=0.5)


def test_a_head_that_never_ends_ends_at_the_deadline(serve: Callable[..., RawServer]) -> None:
    def reply(sock: socket.socket, request: bytes) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\n")
        sock.recv(1)

    server = serve(reply, close_after=True)
    with pytest.raises(FetchError, match="did not answer in full within the time allowed"):
        fetch(url(server), timeout=0.5)


# ---- gzip


def gzipped(data: bytes) -> bytes:
    return ok(gzip.compress(data), "Content-Encoding: gzip")


def test_a_gzip_body_is_undone_and_x_gzip_too(serve: Callable[..., RawServer]) -> None:
    data = b"the filing " * 5000
    server = serve(gzipped(data), ok(gzip.compress(data), "Content-Encoding: X-GZIP"))
    assert fetch(url(server)).body == data
    assert fetch(url(server)).body == data
    assert "Accept-Encoding: gzip" in lines(server.requests[0])


def test_a_gzip_bomb_stops_at_the_decoded_cap(serve: Callable[..., RawServer]) -> None:
    bomb = gzip.compress(b"\0" * (64 * MB))
    server = serve(ok(bomb, "Content-Encoding: gzip"))
    with pytest.raises(FetchError, match="sent more than 1 MiB once decompressed"):
        fetch(url(server), max_body=MB, max_decoded=MB)
    assert len(bomb) < MB


def test_gzip_to_exactly_the_cap_is_kept(serve: Callable[..., RawServer]) -> None:
    server = serve(gzipped(b"k" * 4096), gzipped(b"k" * 4097))
    assert len(fetch(url(server), max_decoded=4096).body) == 4096
    with pytest.raises(FetchError, match="sent more than 4,096 bytes once decompressed$"):
        fetch(url(server), max_decoded=4096)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"not gzip at all", "a broken gzip body"),
        (gzip.compress(b"abc" * 1000, mtime=0)[:-12], "a truncated gzip body"),
    ],
    ids=["not-gzip", "truncated"],
)
def test_a_broken_or_cut_gzip_body_is_named(
    serve: Callable[..., RawServer], body: bytes, problem: str
) -> None:
    server = serve(ok(body, "Content-Encoding: gzip"))
    with pytest.raises(FetchError, match=problem):
        fetch(url(server))


def test_a_plain_body_over_the_decoded_cap_is_refused(serve: Callable[..., RawServer]) -> None:
    server = serve(ok(b"p" * 2000), ok(b"p" * 2000))
    with pytest.raises(FetchError, match="sent more than 1,999 bytes$"):
        fetch(url(server), max_body=MB, max_decoded=1999)
    assert len(fetch(url(server), max_body=MB, max_decoded=2000).body) == 2000


# ---- proxies


def test_plain_http_through_an_http_proxy_sends_the_absolute_url_to_the_proxy(
    serve: Callable[..., RawServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    via = serve(ok(b"proxied"))
    monkeypatch.setenv("HTTP_PROXY", f"127.0.0.1:{via.port}")
    keep = Kept()
    answer = fetch("http://origin.invalid:8000/p?q=1", keep=keep)
    assert answer.body == b"proxied" and keep.opened == 0 and keep.sock is None
    sent = lines(via.requests[0])
    assert sent[:3] == [
        "GET http://origin.invalid:8000/p?q=1 HTTP/1.1",
        "Host: origin.invalid:8000",
        "Connection: close",  # through a proxy, a connection a request
    ]


def test_no_proxy_sends_the_request_straight_to_the_server(
    serve: Callable[..., RawServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve(ok(b"direct"))
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "example.com, 127.0.0.1:1234")
    assert fetch(url(server)).body == b"direct"


def test_an_unreachable_proxy_is_named_as_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{port}")
    with pytest.raises(FetchError, match=r"cannot fetch http://origin\.invalid/: .*proxy"):
        fetch("http://origin.invalid/")


def socks_proxy(
    serve: Callable[..., RawServer],
    method: int = 0,
    reply: int = 0,
    address: bytes = b"\x01" + bytes(4),
    auth_ok: bool = True,
) -> RawServer:
    """A SOCKS5 proxy that records what it was sent, then serves ``ok(b"socks")`` itself."""

    def handler(sock: socket.socket, n: int) -> None:
        greeting = sock.recv(2)
        methods = sock.recv(greeting[1])
        server.note(("methods", methods))
        sock.sendall(bytes([5, method]))
        if method == 2:
            head = sock.recv(2)
            if len(head) < 2:
                return  # the client gave up before its credentials
            name = sock.recv(head[1])
            size = sock.recv(1)[0]
            secret = sock.recv(size) if size else b""
            server.note(("auth", name, secret))
            sock.sendall(b"\x01" + (b"\x00" if auth_ok else b"\x01"))
            if not auth_ok:
                return
        elif method == 0xFF:
            return
        request = sock.recv(4)
        kind = request[3]
        if kind == 1:
            target = sock.recv(4 + 2)
        elif kind == 4:
            target = sock.recv(16 + 2)
        else:
            length = sock.recv(1)
            target = length + sock.recv(length[0] + 2)
        server.note(("connect", request + target))
        sock.sendall(bytes([5, reply, 0]) + address + b"\x00\x50")
        if reply:
            return
        server.requests.append(read_request(sock))
        sock.sendall(ok(b"socks", "Connection: close"))

    server = RawServer(handler)
    made.append(server)
    return server


made: list[RawServer] = []


@pytest.fixture(autouse=True)
def _close_made() -> Iterator[None]:
    yield
    while made:
        made.pop().close()


def notes(server: RawServer, kind: str) -> list[tuple[object, ...]]:
    server.wait(lambda: any(isinstance(n, tuple) and n[0] == kind for n in server.notes))
    return [n for n in server.notes if isinstance(n, tuple) and n[0] == kind]


@pytest.mark.parametrize(
    ("address", "ipv"),
    [(b"\x01" + bytes(4), 4), (b"\x04" + bytes(16), 6), (b"\x03\x05proxy", 3)],
    ids=["ipv4", "ipv6", "name"],
)
def test_socks5h_connects_by_name_and_reads_each_kind_of_bound_address(
    serve: Callable[..., RawServer], monkeypatch: pytest.MonkeyPatch, address: bytes, ipv: int
) -> None:
    via = socks_proxy(serve, address=address)
    monkeypatch.setenv("http_proxy", f"socks5h://127.0.0.1:{via.port}")
    assert fetch("http://origin.invalid:8000/s").body == b"socks"
    assert notes(via, "methods")[0][1] == b"\x00"
    assert notes(via, "connect")[0][1] == b"\x05\x01\x00\x03\x0eorigin.invalid\x1f\x40"
    assert lines(via.requests[0])[0] == "GET /s HTTP/1.1"  # a tunnel: the path alone


def test_socks5_resolves_here_and_sends_an_address(
    serve: Callable[..., RawServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    via = socks_proxy(serve)
    monkeypatch.setenv("http_proxy", f"socks5://127.0.0.1:{via.port}")
    fetch("http://localhost:81/")
    assert notes(via, "connect")[0][1] in (
        b"\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x51",
        b"\x05\x01\x00\x04" + bytes(15) + b"\x01\x00\x51",
    )
    ipv6 = socks_proxy(serve)
    monkeypatch.setenv("http_proxy", f"socks5://127.0.0.1:{ipv6.port}")
    fetch("http://[::1]:81/")
    assert notes(ipv6, "connect")[0][1] == b"\x05\x01\x00\x04" + bytes(15) + b"\x01\x00\x51"


def test_socks5_with_a_user_sends_it_and_its_password_decoded(
    serve: Callable[..., RawServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    via = socks_proxy(serve, method=2)
    monkeypatch.setenv("http_proxy", f"socks5h://us%40er:p%3Ass@127.0.0.1:{via.port}")
    assert fetch("http://origin.invalid/").body == b"socks"
    assert notes(via, "methods")[0][1] == b"\x00\x02"
    assert notes(via, "auth")[0][1:] == (b"us@er", b"p:ss")


@pytest.mark.parametrize(
    ("settings", "user", "problem"),
    [
        ({"method": 2, "auth_ok": False}, "u:p@", "refused the user and password"),
        ({"method": 2}, "", "wants a user and password"),
        ({"method": 0xFF}, "u:p@", "wants a method secfeed does not speak"),
        ({"reply": 5}, "", "could not connect: connection refused"),
        ({"reply": 9}, "", "could not connect: error 9"),
        ({"address": b"\x07"}, "", "unknown address type"),
    ],
)
def test_a_socks5_refusal_is_named(
    serve: Callable[..., RawServer],
    monkeypatch: pytest.MonkeyPatch,
    settings: dict[str, object],
    user: str,
    problem: str,
) -> None:
    via = socks_proxy(serve, **settings)  # type: ignore[arg-type]
    monkeypatch.setenv("http_proxy", f"socks5h://{user}127.0.0.1:{via.port}")
    with pytest.raises(FetchError, match=problem):
        fetch("http://origin.invalid/")


def test_a_proxy_that_is_not_socks5_or_closes_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def not_socks(sock: socket.socket, n: int) -> None:
        sock.recv(3)
        sock.sendall(b"\x04\x00" if n == 1 else b"\x05")

    server = RawServer(not_socks)
    made.append(server)
    monkeypatch.setenv("http_proxy", f"socks5h://127.0.0.1:{server.port}")
    with pytest.raises(FetchError, match="does not speak SOCKS5"):
        fetch("http://origin.invalid/")
    with pytest.raises(FetchError, match="the proxy closed the connection"):
        fetch("http://origin.invalid/")


def test_a_socks5_user_longer_than_255_bytes_is_refused_before_it_is_sent(
    serve: Callable[..., RawServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    via = socks_proxy(serve, method=2)
    monkeypatch.setenv("http_proxy", f"socks5h://{'u' * 256}:p@127.0.0.1:{via.port}")
    with pytest.raises(FetchError, match="longer than 255 bytes"):
        fetch("http://origin.invalid/")
    monkeypatch.setenv("http_proxy", f"socks5h://u:{'p' * 256}@127.0.0.1:{via.port}")
    with pytest.raises(FetchError, match="longer than 255 bytes"):
        fetch("http://origin.invalid/")


def connect_proxy(answer: bytes) -> RawServer:
    def handler(sock: socket.socket, n: int) -> None:
        server.requests.append(read_request(sock))
        sock.sendall(answer)
        sock.recv(1)

    server = RawServer(handler)
    made.append(server)
    return server


def test_an_http_connect_tunnel_sends_the_target_and_credentials() -> None:
    server = connect_proxy(b"HTTP/1.1 200 Connection established\r\n\r\n")
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        proxy.http_tunnel(sock, "::1", 443, "u%40x", "p%3A", time.monotonic() + 30)
    assert lines(server.requests[0]) == [
        "CONNECT [::1]:443 HTTP/1.1",
        "Host: [::1]:443",
        "Proxy-Authorization: Basic dUB4OnA6",  # u@x:p:
    ]
    plain = connect_proxy(b"HTTP/1.1 200 OK\r\n\r\n")
    with socket.create_connection(("127.0.0.1", plain.port)) as sock:
        proxy.http_tunnel(sock, "sec.gov", 443, None, None, time.monotonic() + 30)
    assert lines(plain.requests[0]) == ["CONNECT sec.gov:443 HTTP/1.1", "Host: sec.gov:443"]


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n", r"refused the tunnel \(HTTP 407"),
        (b"HTTP/1.1 200 OK\r\n\r\nearly", "sent data before the tunnel was open"),
    ],
)
def test_an_http_connect_refusal_is_named(answer: bytes, problem: str) -> None:
    server = connect_proxy(answer)
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        with pytest.raises(HandshakeError, match=problem):
            proxy.http_tunnel(sock, "sec.gov", 443, None, None, time.monotonic() + 30)


def test_tunnel_picks_socks5_or_connect_by_the_proxys_scheme(
    serve: Callable[..., RawServer],
) -> None:
    server = connect_proxy(b"HTTP/1.1 200 OK\r\n\r\n")
    via = proxy.proxy_for("sec.gov", True, f"http://127.0.0.1:{server.port}")
    assert via is not None
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        proxy.tunnel(sock, via, "sec.gov", 443, time.monotonic() + 30)
    assert lines(server.requests[0])[0] == "CONNECT sec.gov:443 HTTP/1.1"
    socks = socks_proxy(serve, method=2)
    via = proxy.proxy_for("sec.gov", True, f"socks5h://a:b@127.0.0.1:{socks.port}")
    assert via is not None
    with socket.create_connection(("127.0.0.1", socks.port)) as sock:
        proxy.tunnel(sock, via, "sec.gov", 443, time.monotonic() + 30)
    assert notes(socks, "auth")[0][1:] == (b"a", b"b")


def test_a_slow_proxy_ends_at_the_deadline() -> None:
    server = connect_proxy(b"")
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        with pytest.raises(HandshakeError, match="too slow|timed out"):
            proxy.socks5(sock, "sec.gov", 443, None, "", time.monotonic() + 0.3, True)


def test_the_proxy_comes_from_the_flag_then_the_environment_and_no_proxy_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert proxy.proxy_for("sec.gov", True, None) is None
    monkeypatch.setenv("HTTPS_PROXY", "socks5://p.example:1")
    monkeypatch.setenv("http_proxy", "http://q.example")
    secure = proxy.proxy_for("sec.gov", True, None)
    plain = proxy.proxy_for("sec.gov", False, None)
    assert secure is not None and secure.geturl() == "socks5://p.example:1"
    assert plain is not None and proxy.proxy_port(plain) == 8080
    given = proxy.proxy_for("sec.gov", True, "r.example")
    assert given is not None and given.geturl() == "http://r.example"
    socks = proxy.proxy_for("sec.gov", True, "socks5h://s.example")
    assert socks is not None and proxy.proxy_port(socks) == 1080
    monkeypatch.setenv("no_proxy", ".gov")
    assert proxy.proxy_for("sec.gov", True, "r.example") is None
    with pytest.raises(HandshakeError, match=r"unsupported proxy ftp:// \(http://, socks5://"):
        proxy.proxy_for("a.example", True, "ftp://p.example")
    with pytest.raises(HandshakeError, match="unsupported proxy"):
        proxy.proxy_for("a.example", True, "http://")


@pytest.mark.parametrize(
    ("host", "no_proxy", "bypass"),
    [
        ("sec.gov", "*", True),
        ("sec.gov", "sec.gov", True),
        ("www.sec.gov", "sec.gov", True),
        ("www.sec.gov", ".sec.gov", True),
        ("SEC.gov", " other.org , SEC.GOV ", True),
        ("notsec.gov", "sec.gov", False),
        ("sec.gov", "sec.gov:443", True),
        ("[::1]", "::1", True),
        ("sec.gov", "", False),
        ("sec.gov", ",,", False),
        ("sec.gov", "gov.sec", False),
    ],
)
def test_no_proxy_follows_curls_rules(host: str, no_proxy: str, bypass: bool) -> None:
    assert proxy._bypass(host, no_proxy) is bypass
