"""Sockets under a deadline: connect, send, read an HTTP response head with a cap.

What the WebSocket handshake, proxies and ``httpget`` share; no click, no rich.
"""

from __future__ import annotations

import socket
import time

#: The status line and headers of a response (the server's or a proxy's) may not exceed this.
MAX_HEAD = 16 << 10


class HandshakeError(Exception):
    """The connection could not be opened; a retry may help. ``str()`` is one line."""


class HandshakeTimeout(HandshakeError):
    pass


def remaining(deadline: float, what: str) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise HandshakeTimeout(f"{what} timed out")
    return left


def tcp_connect(host: str, port: int, deadline: float, what: str = "") -> socket.socket:
    name = f"{what} " if what else ""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise HandshakeError(f"cannot resolve {name}host {host} ({exc.strerror})") from None
    last: OSError | None = None
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(remaining(deadline, f"connecting to {name}{host}"))
            sock.connect(address)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except HandshakeError:
            sock.close()
            raise
        except TimeoutError:
            sock.close()
            raise HandshakeTimeout(f"connecting to {name}{host} timed out") from None
        except OSError as exc:
            sock.close()
            last = exc
    if isinstance(last, ConnectionRefusedError):
        raise HandshakeError(f"{name}connection refused")
    raise HandshakeError(f"cannot connect to {name}{host}: {last.strerror if last else '?'}")


def send_all(sock: socket.socket, data: bytes, deadline: float) -> None:
    try:
        sock.settimeout(remaining(deadline, "sending the request"))
        sock.sendall(data)  # the timeout bounds the whole call
    except TimeoutError:
        raise HandshakeTimeout("sending the upgrade request timed out") from None


def read_head(
    sock: socket.socket, deadline: float, who: str, trace: list[str] | None = None
) -> tuple[int, str, dict[str, str], bytes]:
    """Status, reason, headers (lower-case names) and any bytes after the head; ``trace``
    gets the head's lines (``< ``), control characters escaped, each cut to 200."""
    buf = b""
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            break
        if len(buf) > MAX_HEAD:
            raise HandshakeError(f"{who}'s response headers exceed {MAX_HEAD >> 10} KiB")
        try:
            sock.settimeout(remaining(deadline, "handshake"))
            chunk = sock.recv(MAX_HEAD + 4 - len(buf))
        except TimeoutError:
            raise HandshakeTimeout("handshake timed out (the response was too slow)") from None
        if not chunk:
            raise HandshakeError(f"{who} closed the connection during the handshake")
        buf += chunk
    if end > MAX_HEAD:
        raise HandshakeError(f"{who}'s response headers exceed {MAX_HEAD >> 10} KiB")
    head, leftover = buf[:end], buf[end + 4 :]
    lines = head.decode("latin-1").split("\r\n")
    if trace is not None:
        from ..common.escape import escape_control

        trace.extend(f"< {escape_control(line)[:200]}" for line in lines)
    status_line = lines[0].split(" ", 2)
    if len(status_line) < 2 or not status_line[0].startswith("HTTP/"):
        raise HandshakeError(f"{who} did not answer with HTTP")
    try:
        status = int(status_line[1])
    except ValueError:
        raise HandshakeError(f"{who} sent a bad HTTP status line") from None
    reason = status_line[2].strip() if len(status_line) > 2 else ""
    fields: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise HandshakeError(f"{who} sent a bad HTTP header line")
        name = name.strip().lower()
        value = value.strip()
        fields[name] = f"{fields[name]}, {value}" if name in fields else value
    return status, reason[:80], fields, leftover
