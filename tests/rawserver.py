"""Raw-socket servers on 127.0.0.1 for misbehaviour no WebSocket library will produce.

A :class:`RawServer` runs ``handler(sock, n)`` in a thread for the n-th connection (from 1).
Helpers read the upgrade request, answer it (correctly or not) and build server frames.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

from .patience import WAIT

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

Handler = Callable[[socket.socket, int], object]  # what it returns is ignored


class RawServer:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port: int = self.listener.getsockname()[1]
        self.url = f"ws://127.0.0.1:{self.port}"
        self.connections = 0
        self.requests: list[bytes] = []
        self.notes: list[Any] = []  # whatever handlers want to report
        self._cond = threading.Condition()
        self._socks: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            with self._cond:
                if self._closed:
                    sock.close()
                    return
                self.connections += 1
                n = self.connections
                self._socks.append(sock)
                self._cond.notify_all()
            threading.Thread(target=self._run, args=(sock, n), daemon=True).start()

    def _run(self, sock: socket.socket, n: int) -> None:
        try:
            self.handler(sock, n)
        except OSError:
            pass  # the client went away: the usual end
        finally:
            sock.close()

    def note(self, item: Any) -> None:
        with self._cond:
            self.notes.append(item)
            self._cond.notify_all()

    def wait(self, predicate: Callable[[], bool], timeout: float = WAIT) -> None:
        with self._cond:
            if not self._cond.wait_for(predicate, timeout=timeout):
                raise AssertionError("the server never saw what the test waited for")

    def close(self) -> None:
        with self._cond:
            self._closed = True
            socks = list(self._socks)
        self.listener.close()
        for sock in socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def read_request(sock: socket.socket) -> bytes:
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("client closed before finishing its request")
        buf += chunk
    return buf


def header(request: bytes, name: str) -> str:
    for line in request.decode("latin-1").split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return ""


def accept_value(request: bytes) -> str:
    key = header(request, "Sec-WebSocket-Key").encode()
    return base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()


def upgrade(sock: socket.socket, server: RawServer | None = None, extra: str = "") -> bytes:
    """Read the upgrade request and answer 101 (plus ``extra`` header lines)."""
    request = read_request(sock)
    if server is not None:
        server.requests.append(request)
    sock.sendall(
        (
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept_value(request)}\r\n{extra}\r\n"
        ).encode()
    )
    return request


def frame(payload: bytes | str, opcode: int = 0x1) -> bytes:
    """An unmasked server frame."""
    data = payload.encode() if isinstance(payload, str) else payload
    n = len(data)
    if n < 126:
        head = bytes([0x80 | opcode, n])
    elif n < 1 << 16:
        head = bytes([0x80 | opcode, 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 127]) + n.to_bytes(8, "big")
    return head + data


def message(**fields: Any) -> bytes:
    return frame(json.dumps(fields))


def filing(n: int, historical: bool = True, **overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "type": "fillings",
        "is_historical": historical,
        "discovered_time": f"2026-01-12T16:{n // 60 % 60:02d}:{n % 60:02d}.1234567Z",
        "form": "8-K",
        "description": f"8-K - ACME {n} CORP (0000123456) (Filer)",
        "filling_date": "2026-01-12",
        "accepted_time": "2026-01-12T16:00:00Z",
        "accession_no": f"0000123456-26-{n:06d}",
        "cik": 123456,
    }
    record.update(overrides)
    return record


def filing_frame(n: int, historical: bool = True, **overrides: Any) -> bytes:
    return frame(json.dumps(filing(n, historical, **overrides)))


HEARTBEAT = frame('{"type":"heartbeat"}')


def drain(sock: socket.socket) -> None:
    """Read (and ignore) what the client sends until it closes."""
    while sock.recv(65536):
        pass


def close_frame(code: int = 1000, reason: str = "") -> bytes:
    return frame(code.to_bytes(2, "big") + reason.encode(), opcode=0x8)


def client_frames(sock: socket.socket) -> Iterator[tuple[int, bytes]]:
    """The client's frames (masked, as RFC 6455 requires of clients), unmasked, until EOF."""
    buf = b""

    def need(n: int) -> bool:
        nonlocal buf
        while len(buf) < n:
            chunk = sock.recv(65536)
            if not chunk:
                return False
            buf += chunk
        return True

    while need(2):
        opcode, length = buf[0] & 0x0F, buf[1] & 0x7F
        head = 2
        if length == 126:
            if not need(4):
                return
            length, head = int.from_bytes(buf[2:4], "big"), 4
        elif length == 127:
            if not need(10):
                return
            length, head = int.from_bytes(buf[2:10], "big"), 10
        if not need(head + 4 + length):
            return
        mask = buf[head : head + 4]
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(buf[head + 4 : head + 4 + length]))
        buf = buf[head + 4 + length :]
        yield opcode, payload
