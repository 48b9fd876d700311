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
from urllib.parse import unquote, urljoin, urlsplit

import msgspec

from .. import __version__
from ..output.escape import has_control
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


def get(
    url: str,
    headers: dict[str, str],
    timeout: float,
    max_body: int,
    max_decoded: int,
) -> Answer:
    """GET ``url`` within ``timeout`` seconds in all; the answer, whatever its status."""
    deadline = time.monotonic() + timeout
    for _ in range(MAX_REDIRECTS + 1):
        answer = _get_once(url, headers, deadline, max_body, max_decoded)
        if answer.status not in (301, 302, 303, 307, 308):
            return answer
        location = answer.headers.get("location", "")
        target = urljoin(url, location)
        old, new = urlsplit(url), urlsplit(target)
        same_host = (new.hostname or "").lower() == (old.hostname or "").lower()
        downgrade = old.scheme == "https" and new.scheme != "https"
        if not location or not same_host or downgrade or new.scheme not in ("http", "https"):
            why = "from https to http" if same_host and downgrade else "to another host"
            raise FetchError(
                f"{shown(url)} redirected to {shown(target) if location else '(no Location)'};"
                f" secfeed does not follow a redirect {why}: use that URL if you trust it"
            )
        url = target
    raise FetchError(f"{shown(url)}: more than {MAX_REDIRECTS} redirects")


def _get_once(
    url: str, headers: dict[str, str], deadline: float, max_body: int, max_decoded: int
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
    try:
        via = proxy_for(host, secure, None)
        if via is not None:
            sock = tcp_connect(via.hostname or "", proxy_port(via), deadline, what="proxy")
        else:
            sock = tcp_connect(host, port, deadline)
    except HandshakeTimeout:
        raise FetchError(_too_slow(url)) from None
    except HandshakeError as exc:
        raise FetchError(f"cannot fetch {shown(url)}: {exc}") from None
    try:
        if via is not None and (secure or via.scheme != "http"):
            tunnel(sock, via, host, port, deadline)
        if secure:
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
            "Connection: close",
            "Accept-Encoding: gzip",
            *(f"{k}: {v}" for k, v in request.items()),
        ]
        if not any(k.lower() == "user-agent" for k in request):
            lines.append(f"User-Agent: secfeed/{__version__}")
        send_all(sock, ("\r\n".join(lines) + "\r\n\r\n").encode(), deadline)
        status, reason, fields, leftover = read_head(sock, deadline, shown(url))
        body = _Body(sock, leftover, deadline, max_body, url).read(fields)
    except (HandshakeTimeout, TimeoutError):
        raise FetchError(_too_slow(url)) from None
    except HandshakeError as exc:
        raise FetchError(f"cannot fetch {shown(url)}: {exc}") from None
    except OSError as exc:
        raise FetchError(f"cannot fetch {shown(url)}: {exc.strerror or exc}") from None
    finally:
        sock.close()
    if fields.get("content-encoding", "").lower() in ("gzip", "x-gzip"):
        body = _gunzip(body, max_decoded, url)
    elif len(body) > max_decoded:
        raise FetchError(f"{shown(url)} sent more than {max_decoded >> 20} MiB")
    return Answer(status, reason, fields, body, url)


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
        raise FetchError(f"{shown(self.url)} sent more than {self.limit >> 20} MiB")

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
            if size == 0:
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
                raise FetchError(f"{shown(url)} sent more than {limit >> 20} MiB once decompressed")
            pending = inflate.unconsumed_tail
        out += inflate.flush(limit + 1 - len(out))
    except zlib.error as exc:
        raise FetchError(f"{shown(url)} sent a broken gzip body ({exc})") from None
    if len(out) > limit:
        raise FetchError(f"{shown(url)} sent more than {limit >> 20} MiB once decompressed")
    if not inflate.eof:
        raise FetchError(f"{shown(url)} sent a truncated gzip body")
    return bytes(out)
