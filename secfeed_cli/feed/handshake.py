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
from urllib.parse import SplitResult, unquote, urlsplit

import msgspec

from .. import __version__

try:  # the small built-in SHA-1 for the one digest of the handshake: hashlib would load
    from _sha1 import sha1  # OpenSSL's library first, ~3 ms of every start
except ImportError:  # pragma: no cover - a Python built without it
    from hashlib import sha1

if TYPE_CHECKING:
    import ssl

#: The status line and headers of a response (the server's or a proxy's) may not exceed this.
MAX_HEAD = 16 << 10
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class HandshakeError(Exception):
    """The connection could not be opened; a retry may help. ``str()`` is one line."""


class HandshakeTimeout(HandshakeError):
    pass


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


def proxy_for(host: str, secure: bool, proxy: str | None) -> SplitResult | None:
    """``--proxy``, else ``https_proxy``/``http_proxy`` from the environment; NO_PROXY wins."""
    if _bypass(host, _env("no_proxy")):
        return None
    proxy = proxy or _env("https_proxy" if secure else "http_proxy")
    if not proxy:
        return None
    parsed = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    if parsed.scheme not in PROXY_SCHEMES or not parsed.hostname:
        raise HandshakeError(
            f"unsupported proxy {parsed.scheme}:// (http://, socks5:// or socks5h://)"
        )
    return parsed


#: The proxies secfeed speaks: HTTP CONNECT, and SOCKS5 with the name resolved here (socks5)
#: or by the proxy (socks5h), as curl means them.
PROXY_SCHEMES = ("http", "socks5", "socks5h")


def proxy_port(via: SplitResult) -> int:
    return via.port or (1080 if via.scheme.startswith("socks") else 8080)


def tunnel(sock: socket.socket, via: SplitResult, host: str, port: int, deadline: float) -> None:
    """Through the proxy ``sock`` is connected to, a tunnel to ``host``:``port``."""
    if via.scheme.startswith("socks"):
        user = unquote(via.username) if via.username else None
        password = unquote(via.password or "")
        socks5(sock, host, port, user, password, deadline, remote_dns=via.scheme == "socks5h")
    else:
        http_tunnel(sock, host, port, via.username, via.password, deadline)


_SOCKS_REPLIES = {
    1: "general failure",
    2: "connection not allowed by its rules",
    3: "network unreachable",
    4: "host unreachable",
    5: "connection refused",
    6: "TTL expired",
    7: "command not supported",
    8: "address type not supported",
}


def socks5(
    sock: socket.socket,
    host: str,
    port: int,
    user: str | None,
    password: str,
    deadline: float,
    remote_dns: bool,
) -> None:
    """RFC 1928 CONNECT (with RFC 1929 user/password when given), under ``deadline``."""
    import ipaddress

    methods = b"\x00\x02" if user is not None else b"\x00"
    send_all(sock, bytes([5, len(methods)]) + methods, deadline)
    version, method = _recv_exact(sock, 2, deadline)
    if version != 5:
        raise HandshakeError("the proxy does not speak SOCKS5")
    if method == 2 and user is not None:
        name, secret = user.encode(), password.encode()
        if len(name) > 255 or len(secret) > 255:
            raise HandshakeError("the SOCKS5 user or password is longer than 255 bytes")
        send_all(sock, bytes([1, len(name)]) + name + bytes([len(secret)]) + secret, deadline)
        if _recv_exact(sock, 2, deadline)[1] != 0:
            raise HandshakeError("the SOCKS5 proxy refused the user and password")
    elif method != 0:
        need = "a user and password" if user is None else "a method secfeed does not speak"
        raise HandshakeError(f"the SOCKS5 proxy wants {need}")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None and not remote_dns:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][4][0]
        except socket.gaierror as exc:
            raise HandshakeError(f"cannot resolve host {host} ({exc.strerror})") from None
        address = ipaddress.ip_address(found)
    if address is None:
        name = host.encode("idna")
        target = bytes([3, len(name)]) + name
    else:
        target = bytes([1 if address.version == 4 else 4]) + address.packed
    send_all(sock, b"\x05\x01\x00" + target + port.to_bytes(2, "big"), deadline)
    version, reply, _, kind = _recv_exact(sock, 4, deadline)
    if version != 5:
        raise HandshakeError("the proxy does not speak SOCKS5")
    if reply != 0:
        said = _SOCKS_REPLIES.get(reply, f"error {reply}")
        raise HandshakeError(f"the SOCKS5 proxy could not connect: {said}")
    if kind == 1:
        _recv_exact(sock, 4 + 2, deadline)
    elif kind == 4:
        _recv_exact(sock, 16 + 2, deadline)
    elif kind == 3:
        _recv_exact(sock, _recv_exact(sock, 1, deadline)[0] + 2, deadline)
    else:
        raise HandshakeError("the SOCKS5 proxy answered with an unknown address type")


def _recv_exact(sock: socket.socket, n: int, deadline: float) -> bytes:
    data = b""
    while len(data) < n:
        try:
            sock.settimeout(remaining(deadline, "the proxy"))
            chunk = sock.recv(n - len(data))
        except TimeoutError:
            raise HandshakeTimeout("the proxy was too slow") from None
        if not chunk:
            raise HandshakeError("the proxy closed the connection")
        data += chunk
    return data


def _env(name: str) -> str:
    return os.environ.get(name) or os.environ.get(name.upper()) or ""


def _bypass(host: str, no_proxy: str) -> bool:
    """curl's NO_PROXY rules: ``*``, or a host name that equals or ends in ``.`` + an entry."""
    host = host.lower().strip("[]")
    for entry in no_proxy.replace(" ", "").lower().split(","):
        entry = entry.strip(".")
        if entry.count(":") == 1:  # host:port; the port is not compared
            entry = entry.split(":")[0]
        if entry == "*" or (entry and (host == entry or host.endswith("." + entry))):
            return True
    return False


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


def http_tunnel(
    sock: socket.socket,
    host: str,
    port: int,
    user: str | None,
    password: str | None,
    deadline: float,
) -> None:
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
    if user:
        pair = f"{unquote(user)}:{unquote(password or '')}".encode()
        lines.append(f"Proxy-Authorization: Basic {base64.b64encode(pair).decode()}")
    send_all(sock, ("\r\n".join(lines) + "\r\n\r\n").encode(), deadline)
    status, reason, _, leftover = read_head(sock, deadline, "the proxy")
    if status != 200:
        raise HandshakeError(f"the proxy refused the tunnel (HTTP {status} {reason})".strip())
    if leftover:
        raise HandshakeError("the proxy sent data before the tunnel was open")


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


def send_all(sock: socket.socket, data: bytes, deadline: float) -> None:
    try:
        sock.settimeout(remaining(deadline, "sending the request"))
        sock.sendall(data)  # the timeout bounds the whole call
    except TimeoutError:
        raise HandshakeTimeout("sending the upgrade request timed out") from None


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
        from ..output.escape import escape_control

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
