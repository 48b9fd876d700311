"""NATS peers that misbehave, as raw sockets on 127.0.0.1: what secfeed sends them, and what it
says. (The real nats-server is in test_nats.py.)"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from .conftest import secfeed_process
from .rawserver import RawServer

pytest.importorskip("nats")

INFO = (
    b'INFO {"server_id":"FAKE","server_name":"fake","version":"2.10.0","proto":1,'
    b'"host":"127.0.0.1","port":4222,"headers":true,"auth_required":true,'
    b'"max_payload":1048576,"connect_urls":["127.0.0.1:1"]}\r\n'
)


@pytest.fixture
def fake_nats() -> Iterator[RawServer]:
    """Greets each client with an INFO that leaves out ``tls_required``, answers nothing, and
    keeps (in ``notes``) every byte a client sent."""

    def greet(sock: socket.socket, n: int) -> None:
        sock.settimeout(5)
        got = b""
        try:
            sock.sendall(INFO)
            while len(got) < 65536:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                got += chunk
        finally:
            server.note(got)

    server = RawServer(greet)
    yield server
    server.close()


@pytest.mark.parametrize("command", ["tail --from", "relay --to"])
def test_tls_means_tls_even_when_the_server_does_not_ask_for_it(
    fake_nats: RawServer, command: str
) -> None:
    url = f"tls://alice:s3cretpw@127.0.0.1:{fake_nats.port}"
    verb, flag = command.split()
    res = secfeed_process(
        verb,
        flag,
        url,
        "--url",
        "ws://127.0.0.1:9",
        "--connect-timeout",
        "2",
        "--count",
        "1",
        timeout=60,
    )
    assert res.returncode == 4, res.stderr
    fake_nats.wait(lambda: bool(fake_nats.notes))  # the client did connect, and stopped
    sent = b"".join(fake_nats.notes)
    assert b"s3cretpw" not in sent and b"CONNECT" not in sent
    assert sent.startswith(b"\x16\x03"), sent[:20]  # a TLS handshake record, and only that
    assert b"s3cretpw" not in res.stderr
