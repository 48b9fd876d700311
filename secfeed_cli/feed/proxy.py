"""Proxies, as curl takes them: HTTP CONNECT (``http://``) and SOCKS5 (``socks5://``, names
resolved here; ``socks5h://``, by the proxy), with ``user:pass@``; ``HTTPS_PROXY``,
``HTTP_PROXY`` and ``NO_PROXY`` from the environment. Every step under the caller's deadline.
"""

from __future__ import annotations

import base64
import os
import socket
from urllib.parse import SplitResult, unquote, urlsplit

from .sockets import HandshakeError, HandshakeTimeout, read_head, remaining, send_all


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
