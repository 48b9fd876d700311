"""Opening a connection to the feed: TCP, an optional HTTP proxy, TLS, the WebSocket upgrade.

Everything runs under one deadline (``--connect-timeout``), whatever the server does: a
server that answers one byte every two seconds, sends an endless header line or a huge error
body cannot hold the client or grow its memory, because the response head is read with a cap
and a refusal's body is never read. Redirects are never followed (the key would travel to
whatever ``Location`` names), and a 101 that negotiates an extension or a subprotocol the
client did not ask for fails (RFC 6455 section 4.1).

No click, no rich. Bytes the server sent after the 101 head (frames, already) are returned
with the socket, for the frame reader.
"""

from __future__ import annotations

import base64
import os
import socket
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import msgspec

from .. import __version__
from .proxy import proxy_for, proxy_port, tunnel
from .sockets import (
    HandshakeError,
    HandshakeTimeout,
    read_head,
    remaining,
    send_all,
    tcp_connect,
)

try:  # the small built-in SHA-1 for the one digest of the handshake: hashlib would load
    from _sha1 import sha1  # OpenSSL's library first, ~3 ms of every start
except ImportError:  # pragma: no cover - a Python built without it
    from hashlib import sha1

if TYPE_CHECKING:
    import ssl

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Refused(HandshakeError):
    """The server answered the upgrade with an HTTP status other than 101."""

    def __init__(self, status: int, reason: str, location: str | None) -> None:
        super().__init__(f"the server answered HTTP {status}{' ' + reason if reason else ''}")
        self.status = status
        self.location = location


class Untrusted(HandshakeError):
    """The server's TLS certificate did not verify (no retry can fix it)."""


class Opened(msgspec.Struct, frozen=True):
    sock: socket.socket
    leftover: bytes  # bytes after the 101 head: the first frames


def open_websocket(
    url: str,
    headers: list[str],
    timeout: float,
    ca_bundle: str | None = None,
    proxy: str | None = None,
    trace: list[str] | None = None,
) -> Opened:
    """Connect to ``url`` (ws:// or wss://) and complete the upgrade within ``timeout`` s.

    ``trace`` (-v): gets the request's lines (``> ``, the API key masked) and the response's
    (``< ``), as curl -v shows them, also when the upgrade fails."""
    deadline = time.monotonic() + timeout
    parts = urlsplit(url)
    secure = parts.scheme == "wss"
    host = parts.hostname or ""
    port = parts.port or (443 if secure else 80)
    via = proxy_for(host, secure, proxy)
    if via is not None:
        sock = tcp_connect(via.hostname or "", proxy_port(via), deadline, what="proxy")
    else:
        sock = tcp_connect(host, port, deadline)
    try:
        if via is not None:
            tunnel(sock, via, host, port, deadline)
        if secure:
            sock = start_tls(sock, host, ca_bundle, deadline)
        key = base64.b64encode(os.urandom(16)).decode()
        authority = f"[{host}]" if ":" in host else host
        if parts.port is not None:
            authority += f":{port}"
        resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request = [
            f"GET {resource} HTTP/1.1",
            f"Host: {authority}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            f"User-Agent: secfeed/{__version__}",
            *headers,
        ]
        if trace is not None:
            trace.extend(f"> {line}" for line in masked_request(request))
        send_all(sock, ("\r\n".join(request) + "\r\n\r\n").encode(), deadline)
        status, reason, fields, leftover = read_head(sock, deadline, "the server", trace)
        if status != 101:
            raise Refused(status, reason, fields.get("location"))
        _check_upgrade(fields, key)
        sock.settimeout(None)
        return Opened(sock, leftover)
    except BaseException:
        sock.close()
        raise


def start_tls(
    sock: socket.socket, host: str, ca_bundle: str | None, deadline: float
) -> ssl.SSLSocket:
    import ssl  # only wss:// needs it (~10 ms of start-up otherwise)

    try:
        context = ssl.create_default_context(cafile=ca_bundle)
    except (OSError, ssl.SSLError) as exc:
        raise Untrusted(f"cannot load the CA bundle {ca_bundle}: {exc}") from None
    tls = context.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
    try:
        # One call under one timeout: CPython turns it into a deadline for the whole handshake.
        tls.settimeout(remaining(deadline, "TLS handshake"))
        tls.do_handshake()
    except ssl.SSLCertVerificationError as exc:
        tls.close()
        raise Untrusted(
            f"TLS certificate of {host} not trusted: {exc.verify_message}"
            " (use --ca-bundle FILE for a private CA)"
        ) from None
    except TimeoutError:
        tls.close()
        raise HandshakeTimeout("TLS handshake timed out") from None
    except (OSError, ssl.SSLError) as exc:
        tls.close()
        raise HandshakeError(f"TLS handshake failed: {exc}") from None
    return tls


def masked_request(lines: list[str]) -> list[str]:
    """The request's lines with the API key masked: ``Authorization``'s value, ``apikey=``."""
    import re

    out = []
    for line in lines:
        name, sep, _ = line.partition(":")
        if sep and name.strip().lower() in ("authorization", "proxy-authorization"):
            line = f"{name}: ***"
        out.append(re.sub(r"(?i)([?&]apikey=)[^&\s]*", r"\1***", line))
    return out


def _check_upgrade(fields: dict[str, str], key: str) -> None:
    if fields.get("upgrade", "").lower() != "websocket":
        raise HandshakeError("the server's 101 response has no 'Upgrade: websocket'")
    if "upgrade" not in [t.strip().lower() for t in fields.get("connection", "").split(",")]:
        raise HandshakeError("the server's 101 response has no 'Connection: Upgrade'")
    expected = base64.b64encode(sha1(key.encode() + _GUID).digest()).decode()
    if fields.get("sec-websocket-accept", "").strip() != expected:
        raise HandshakeError("the server's Sec-WebSocket-Accept does not match the request")
    extensions = fields.get("sec-websocket-extensions", "").strip()
    if extensions:
        name = extensions.split(";")[0].split(",")[0].strip()[:40]
        raise HandshakeError(f"the server negotiated an extension secfeed did not ask for ({name})")
    if fields.get("sec-websocket-protocol", "").strip():
        raise HandshakeError("the server chose a subprotocol secfeed did not ask for")
