"""NATS peers that misbehave, as raw sockets on 127.0.0.1: what secfeed sends them, and what it
says. (The real nats-server is in test_nats.py.)"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from .conftest import secfeed

pytest.importorskip("nats")

INFO = (
    b'INFO {"server_id":"FAKE","server_name":"fake","version":"2.10.0","proto":1,'
    b'"host":"127.0.0.1","port":4222,"headers":true,"auth_required":true,'
    b'"max_payload":1048576,"connect_urls":["127.0.0.1:1"]}\r\n'
)


class FakeNats:
    """Greets each client with an INFO that leaves out ``tls_required``, answers nothing, and
    keeps every byte a client sent."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.received: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._client, args=(sock,), daemon=True).start()

    def _client(self, sock: socket.socket) -> None:
        with sock:
            sock.settimeout(5)
            got = b""
            try:
                sock.sendall(INFO)
                while len(got) < 65536:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    got += chunk
            except OSError:
                pass
            self.received.append(got)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def fake_nats() -> Iterator[FakeNats]:
    server = FakeNats()
    yield server
    server.close()


@pytest.mark.parametrize("command", ["tail --from", "relay --to"])
def test_tls_means_tls_even_when_the_server_does_not_ask_for_it(
    fake_nats: FakeNats, command: str
) -> None:
    url = f"tls://alice:s3cretpw@127.0.0.1:{fake_nats.port}"
    verb, flag = command.split()
    res = secfeed(
        verb,
        flag,
        url,
        "--url",
        "ws://127.0.0.1:9",
        "--connect-timeout",
        "2",
        "-n",
        "1",
        timeout=60,
    )
    assert res.returncode == 4, res.stderr
    assert fake_nats.received, "the client did connect"
    sent = b"".join(fake_nats.received)
    assert b"s3cretpw" not in sent and b"CONNECT" not in sent
    assert sent.startswith(b"\x16\x03"), sent[:20]  # a TLS handshake record, and only that
    assert b"s3cretpw" not in res.stderr
