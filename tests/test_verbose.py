"""`-v` as `curl -v`: the handshake both ways (the key masked), each connection's end and its
traffic, the totals in the summary. The real CLI against the emulator."""

from __future__ import annotations

from collections.abc import Callable

from secfeed_cli.emulator.server import Emulator

from .conftest import ndjson, secfeed

Factory = Callable[..., Emulator]
KEY = "vk-8f3e1a9c2b7d"


def _stderr(res: object) -> str:
    return res.stderr.decode()  # type: ignore[attr-defined,no-any-return]


def test_verbose_shows_the_handshake_with_the_key_masked(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=10, api_key=KEY)
    res = secfeed("tail", "--url", em.url, "--api-key", KEY, "--backlog-only", "-v")
    assert res.returncode == 0, res.stderr
    err = _stderr(res)
    lines = err.splitlines()
    assert "secfeed: > GET / HTTP/1.1" in lines
    assert f"secfeed: > Host: 127.0.0.1:{em.port}" in lines
    assert "secfeed: > Authorization: ***" in lines
    assert "secfeed: < HTTP/1.1 101 Switching Protocols" in lines
    assert any(line.startswith("secfeed: < Sec-WebSocket-Accept: ") for line in lines)
    assert lines.index("secfeed: > GET / HTTP/1.1") < lines.index(
        f"secfeed: connected to 127.0.0.1:{em.port} (connection #1)"
    )
    assert KEY not in err
    summary = lines[-1]
    assert "10 shown" in summary and "bytes over 1 connection" in summary, summary


def test_verbose_masks_a_key_in_the_query(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=3, api_key=KEY)
    res = secfeed(
        "tail", "--url", em.url, "--api-key", KEY, "--key-in", "query", "--backlog-only", "-v"
    )
    assert res.returncode == 0, res.stderr
    assert "secfeed: > GET /?apikey=*** HTTP/1.1" in _stderr(res).splitlines()
    assert KEY not in _stderr(res)


def test_a_refused_upgrade_shows_the_servers_answer_with_control_characters_escaped() -> None:
    import socket

    from .rawserver import RawServer, read_request

    def refuse(sock: socket.socket, n: int) -> None:
        read_request(sock)
        sock.sendall(
            b"HTTP/1.1 401 Unauthorized\r\nX-Why: bad\x1b[31mkey\r\nContent-Length: 0\r\n\r\n"
        )

    server = RawServer(refuse)
    try:
        res = secfeed("tail", "--url", server.url, "--api-key", "wrong-key-77", "-v")
    finally:
        server.close()
    assert res.returncode == 3, res.stderr
    lines = _stderr(res).splitlines()
    assert "secfeed: < HTTP/1.1 401 Unauthorized" in lines
    assert "secfeed: < X-Why: bad\\x1b[31mkey" in lines
    assert lines[-1] == "secfeed: error: the server refused the API key (HTTP 401)", lines
    assert "wrong-key-77" not in _stderr(res)


def test_verbose_says_why_and_after_what_each_connection_ended(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=20, drop_after=5, fault_connections=1)
    res = secfeed("tail", "--url", em.url, "--count", "20", "-v")
    assert res.returncode == 0, res.stderr
    assert len(ndjson(res.stdout)) == 20
    err = _stderr(res)
    ended = next(line for line in err.splitlines() if "connection #1 ended (" in line)
    assert "frames," in ended and "bytes read" in ended, ended
    assert err.count("> GET / HTTP/1.1") == 2  # the reconnect's handshake too
    assert "bytes over 2 connections" in err.splitlines()[-1]


def test_without_verbose_no_handshake_is_shown(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=3)
    res = secfeed("tail", "--url", em.url, "--backlog-only")
    assert "> GET" not in _stderr(res) and "bytes read" not in _stderr(res)
