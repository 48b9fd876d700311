"""One bounded HTTP GET, for what secfeed fetches from the web (SEC's ticker map).

Bounded in every way a server can stretch it: one deadline for the whole fetch (connect, proxy
tunnel, TLS, the head, the body: every read waits at most what is left of it, so an answer
trickled a byte a second ends at the deadline), a cap on the head (the handshake's), on the
body as sent and on the body once decompressed (a gzip bomb stops at the cap, not in memory).
A redirect is followed only on the same host and never from https to http, at most
:data:`MAX_REDIRECTS` times; any other is refused, naming where it pointed. A password in the
URL is sent as Basic credentials, only over https or to this machine.

Built on the handshake's sockets (proxy from the environment, TLS). No click, no rich.
"""

from __future__ import annotations

import base64
import ipaddress
import socket
import time
import zlib
from collections.abc import Callable
from urllib.parse import unquote, urljoin, urlsplit

import msgspec

from .. import __version__
from ..common.escape import has_control
from .handshake import start_tls
from .proxy import proxy_for, proxy_port, tunnel
from .sockets import HandshakeError, HandshakeTimeout, read_head, send_all, tcp_connect

MAX_REDIRECTS = 3
CHUNK = 64 << 10


class FetchError(Exception):
    """The fetch failed; ``str()`` is one line, with the URL shown by :func:`shown`."""


class Answer(msgspec.Struct, frozen=True):
    status: int
    reason: str
    headers: dict[str, str]  # lower-case names
    body: bytes  # decoded (gzip undone)
    url: str  # after redirects


def shown(url: str) -> str:
    """A URL as messages name it: scheme, host, port and path; no user, password or query."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if _port(url) is not None else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _port(url: str) -> int | None:
    try:
        return urlsplit(url).port
    except ValueError:
        raise FetchError(f"{url.split('://')[0]}:// URL with a bad port") from None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Kept:
    """A connection kept open between GETs to one server (HTTP/1.1 keep-alive), for a client
    that asks one host many times (EDGAR). One per thread: it is not shared."""

    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.origin: tuple[str, str, int] | None = None
        self.opened = 0  # connections opened (the tests count them)

    def take(self, origin: tuple[str, str, int]) -> socket.socket | None:
        sock, self.sock = self.sock, None
        if sock is not None and self.origin != origin:
            sock.close()
            return None
        return sock

    def give(self, sock: socket.socket, origin: tuple[str, str, int]) -> None:
        self.close()
        self.sock, self.origin = sock, origin

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def get(
    url: str,
    headers: dict[str, str],
    timeout: float,
    max_body: int,
    max_decoded: int,
    keep: Kept | None = None,
    before_each: Callable[[], None] | None = None,
) -> Answer:
    """GET ``url`` within ``timeout`` seconds in all; the answer, whatever its status.
    ``keep``: reuse its connection to the same server, and leave the one used there.
    ``before_each``: called before every request, each redirect's included (a pace to keep;
    what it raises ends the fetch)."""
    deadline = time.monotonic() + timeout
    for _ in range(MAX_REDIRECTS + 1):
        if before_each is not None:
            before_each()
        answer = _get_kept(url, headers, deadline, max_body, max_decoded, keep)
        if answer.status not in (301, 302, 303, 307, 308):
            return answer
        location = answer.headers.get("location", "")
        target = urljoin(url, location)
        old, new = urlsplit(url), urlsplit(target)
        same_host = (new.hostname or "").lower() == (old.hostname or "").lower()
        downgrade = old.scheme == "https" and new.scheme != "https"
        if not location or not same_host or downgrade or new.scheme not in ("http", "https"):
            if not location:
                why = "without a Location"
            elif not same_host:
                why = "to another host"
            elif new.scheme not in ("http", "https"):
                why = f"to {new.scheme}://"
            else:
                why = "from https to http"
            raise FetchError(
                f"{shown(url)} redirected to {shown(target) if location else '(no Location)'};"
                f" secfeed does not follow a redirect {why}: use that URL if you trust it"
            )
        url = target
    raise FetchError(f"{shown(url)}: more than {MAX_REDIRECTS} redirects")


def _get_kept(
    url: str,
    headers: dict[str, str],
    deadline: float,
    max_body: int,
    max_decoded: int,
    keep: Kept | None,
) -> Answer:
    """A GET on ``keep``'s open connection when it has one to this server; if that one was
    closed meanwhile (the server's idle timeout), once more on a new connection."""
    if keep is not None and keep.sock is not None:
        try:
            return _get_once(url, headers, deadline, max_body, max_decoded, keep, reuse=True)
        except _Stale:
            pass
    return _get_once(url, headers, deadline, max_body, max_decoded, keep)


class _Stale(Exception):
    """A kept connection the server had closed before answering."""


def _get_once(
    url: str,
    headers: dict[str, str],
    deadline: float,
    max_body: int,
    max_decoded: int,
    keep: Kept | None = None,
    reuse: bool = False,
) -> Answer:
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    host = parts.hostname or ""
    port = _port(url) or (443 if secure else 80)
    request = dict(headers)
    for key, value in request.items():
        if has_control(key + value):
            raise FetchError(f"a control character in the {key} header")
    if parts.username is not None:
        if not secure and not is_loopback(host):
            raise FetchError(f"{shown(url)}: a password goes only over https")
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        request["Authorization"] = f"Basic {base64.b64encode(pair).decode()}"
    origin = (parts.scheme, host.lower(), port)
    via = proxy_for(host, secure, None)
    if via is not None:
        keep = None  # through a proxy: a connection a request
    kept = keep.take(origin) if keep is not None and reuse else None
    if reuse and kept is None:
        raise _Stale()
    if kept is None:
        try:
            if via is not None:
                sock = tcp_connect(via.hostname or "", proxy_port(via), deadline, what="proxy")
            else:
                sock = tcp_connect(host, port, deadline)
        except HandshakeTimeout:
            raise FetchError(_too_slow(url)) from None
        except HandshakeError as exc:
            raise FetchError(f"cannot fetch {shown(url)}: {exc}") from None
        if keep is not None:
            keep.opened += 1
    else:
        sock = kept
    reusable = False
    try:
        if kept is None and via is not None and (secure or via.scheme != "http"):
            tunnel(sock, via, host, port, deadline)
        if kept is None and secure:
            sock = start_tls(sock, host, None, deadline)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if via is not None and not secure and via.scheme == "http":
            target = url  # a plain-http proxy takes the absolute URL
        authority = f"[{host}]" if ":" in host else host
        if parts.port is not None:
            authority += f":{port}"
        lines = [
            f"GET {target} HTTP/1.1",
            f"Host: {authority}",
            "Connection: keep-alive" if keep is not None else "Connection: close",
            "Accept-Encoding: gzip",
            *(f"{k}: {v}" for k, v in request.items()),
        ]
        if not any(k.lower() == "user-agent" for k in request):
            lines.append(f"User-Agent: secfeed/{__version__}")
        head: list[str] = []
        try:
            send_all(sock, ("\r\n".join(lines) + "\r\n\r\n").encode(), deadline)
            status, reason, fields, leftover = read_head(sock, deadline, shown(url), head)
        except (HandshakeError, OSError):
            if kept is not None and not head:  # closed while idle: not this request's fault
                raise _Stale() from None
            raise
        reader = _Body(sock, leftover, deadline, max_body, url)
        body = reader.read(fields)
        reusable = (
            keep is not None
            and not reader.eof
            and head[0].startswith("< HTTP/1.1")
            and "close" not in fields.get("connection", "").lower()
            and ("content-length" in fields or "chunked" in fields.get("transfer-encoding", ""))
        )
    except (HandshakeTimeout, TimeoutError):
        raise FetchError(_too_slow(url)) from None
    except HandshakeError as exc:
        raise FetchError(f"cannot fetch {shown(url)}: {exc}") from None
    except OSError as exc:
        raise FetchError(f"cannot fetch {shown(url)}: {exc.strerror or exc}") from None
    finally:
        if reusable and keep is not None:
            keep.give(sock, origin)
        else:
            sock.close()
    if fields.get("content-encoding", "").lower() in ("gzip", "x-gzip"):
        body = _gunzip(body, max_decoded, url)
    elif len(body) > max_decoded:
        raise FetchError(f"{shown(url)} sent more than {_size(max_decoded)}")
    return Answer(status, reason, fields, body, url)


def _size(limit: int) -> str:
    """A cap as messages give it: whole MiB where it is one, else bytes (a test's small cap)."""
    if limit >= 1 << 20 and not limit % (1 << 20):
        return f"{limit >> 20} MiB"
    return f"{limit:,} bytes"


def _too_slow(url: str) -> str:
    return f"{shown(url)} did not answer in full within the time allowed (--timeout)"


class _Body:
    """Reads a response body (Content-Length, chunked, or to the end), capped and in time."""

    def __init__(
        self, sock: socket.socket, buf: bytes, deadline: float, limit: int, url: str
    ) -> None:
        self.sock = sock
        self.buf = buf
        self.deadline = deadline
        self.limit = limit
        self.url = url
        self.eof = False

    def _more(self) -> bool:
        """Read once more into the buffer; False at the end of the stream."""
        if self.eof:
            return False
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise FetchError(_too_slow(self.url))
        self.sock.settimeout(left)
        chunk = self.sock.recv(CHUNK)
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        if len(self.buf) > self.limit + CHUNK:
            self._too_big()
        return True

    def _too_big(self) -> None:
        raise FetchError(f"{shown(self.url)} sent more than {_size(self.limit)}")

    def read(self, fields: dict[str, str]) -> bytes:
        if "chunked" in fields.get("transfer-encoding", "").lower():
            return self._chunked()
        length = fields.get("content-length")
        if length is not None:
            if not length.strip().isdigit():
                raise FetchError(f"{shown(self.url)} sent a bad Content-Length")
            want = int(length)
            if want > self.limit:
                self._too_big()
            while len(self.buf) < want:
                if not self._more():
                    raise FetchError(
                        f"{shown(self.url)} closed the connection after {len(self.buf):,} of"
                        f" {want:,} bytes"
                    )
            return self.buf[:want]
        while self._more():
            pass
        if len(self.buf) > self.limit:
            self._too_big()
        return self.buf

    def _chunked(self) -> bytes:
        out = bytearray()
        while True:
            while b"\r\n" not in self.buf:
                if len(self.buf) > 1024 or not self._more():
                    raise FetchError(f"{shown(self.url)} sent a broken chunked body")
            line, _, self.buf = self.buf.partition(b"\r\n")
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise FetchError(f"{shown(self.url)} sent a broken chunked body") from None
            if size == 0:  # the trailer (usually none) and its blank line
                while True:
                    while b"\r\n" not in self.buf:
                        if len(self.buf) > 8192 or not self._more():
                            raise FetchError(f"{shown(self.url)} sent a broken chunked body")
                    trailer, _, self.buf = self.buf.partition(b"\r\n")
                    if not trailer:
                        return bytes(out)
            if len(out) + size > self.limit:
                self._too_big()
            while len(self.buf) < size + 2:
                if not self._more():
                    raise FetchError(f"{shown(self.url)} closed the connection mid-answer")
            out += self.buf[:size]
            self.buf = self.buf[size + 2 :]


def _gunzip(data: bytes, limit: int, url: str) -> bytes:
    """Undo gzip, stopping once more than ``limit`` bytes come out."""
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = bytearray()
    try:
        pending = data
        while pending:
            out += inflate.decompress(pending, limit + 1 - len(out))
            if len(out) > limit:
                raise FetchError(f"{shown(url)} sent more than {_size(limit)} once decompressed")
            pending = inflate.unconsumed_tail
        out += inflate.flush(limit + 1 - len(out))
    except zlib.error as exc:
        raise FetchError(f"{shown(url)} sent a broken gzip body ({exc})") from None
    if len(out) > limit:
        raise FetchError(f"{shown(url)} sent more than {_size(limit)} once decompressed")
    if not inflate.eof:
        raise FetchError(f"{shown(url)} sent a truncated gzip body")
    return bytes(out)
