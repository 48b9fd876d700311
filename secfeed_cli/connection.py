"""One WebSocket connection to the feed: the handshake, a reader thread, the frames it reads.

The reader thread turns socket bytes into frames and hands them, in batches (typed records:
:class:`Texts`, :class:`Frames`, then one :class:`Closed`), to the stream's bounded queue. It
answers pings, and notices a stalled connection. :func:`connect` is the stream's default way of
opening one; the stream takes any function of that shape, so its state machine can be tested
without sockets (tests/test_stream_machine.py).

No click, no rich.
"""

from __future__ import annotations

import math
import operator
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode, urlsplit, urlunsplit

from .errors import DEFAULT_URL, AuthRejected, ConnectFailed
from .frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    OVERSIZE,
    FrameReader,
    client_frame,
)
from .handshake import Opened, Refused, Untrusted, open_websocket
from .protocol import hello_frame


@dataclass
class ConnectOptions:
    url: str = DEFAULT_URL
    api_key: str | None = None
    key_in: str = "header"  # or "query"
    heartbeat: bool = True
    stall_timeout: float = 5.0
    settle: float = 2.0
    reconnect: bool = True
    max_retries: int | None = None
    connect_timeout: float = 10.0
    ca_bundle: str | None = None
    proxy: str | None = None
    max_frame: int = 1 << 20
    dedupe_size: int = 250_000
    queue_batches: int = 64
    #: time.monotonic() by which the caller gives up (snapshot --timeout): the run ends there,
    #: and no handshake or backoff runs past it.
    deadline: float | None = None


# ---- what a connection hands the stream ------------------------------------------------------


class Link(Protocol):
    """What the stream needs of a connection (a :class:`Connection`, or a test's stand-in)."""

    conn: int
    closing: bool
    last_frame: float  # time.monotonic() of the last complete frame

    def send_text(self, text: str) -> None: ...

    def close(self, abort: bool = False) -> None: ...

    def join(self, timeout: float) -> bool: ...


@dataclass(slots=True)
class Texts:
    """Whole text frames only, from one socket read (the usual case)."""

    link: Link
    frames: list[bytes]
    received: float  # time.time() when the bytes were read


@dataclass(slots=True)
class Frames:
    """Data frames of one socket read that are not all plain text: ``(opcode, payload)``."""

    link: Link
    batch: list[tuple[int, bytes]]
    received: float


@dataclass(slots=True)
class Closed:
    """The connection ended; always its last record."""

    link: Link
    reason: str


Item = Texts | Frames | Closed
Outbox = queue.Queue[Item]
#: Opens connection number ``conn`` whose reader feeds ``out``; raises on failure (HandshakeError
#: or OSError: worth a retry; AuthRejected or ConnectFailed: not).
Connector = Callable[[int, Outbox], Link]


# ---- one connection --------------------------------------------------------------------------

#: The socket timeout: how often an idle reader looks at its clocks.
SLICE = 0.25
#: How long a hello or a pong may take to leave.
SEND_TIMEOUT = 5.0
#: How long closing waits for the server's close reply before cutting the connection: a
#: server that never answers costs every run this much at its end (the lines are out before
#: the close starts). A reply that comes later, over a slow link, is only not waited for.
CLOSE_WAIT = 0.1
#: With --no-heartbeat the server still pings every 60 s: a little over two ping intervals.
NO_HEARTBEAT_TIMEOUT = 130.0

_PAYLOAD = operator.itemgetter(1)


class Connection:
    """One WebSocket connection and its reader thread.

    The socket's timeout is a short slice, so an idle reader looks at its clocks a few times
    a second: the stall watchdog (time since the last *complete* frame, so a server that
    trickles bytes is still a stalled one) and, once we close, the cap on waiting for the
    server's close reply. Sends (hello, pongs, close) have deadlines of their own.
    """

    def __init__(
        self,
        conn: int,
        opened: Opened,
        out: Outbox,
        opts: ConnectOptions,
        on_lag: Callable[[], None],
    ) -> None:
        self.conn = conn
        self.sock = opened.sock
        self.leftover = opened.leftover
        self.out = out
        self.opts = opts
        self.on_lag = on_lag
        self.last_frame = time.monotonic()
        self.closing = False
        self.close_by = math.inf  # once closing: when to stop waiting for the server's reply
        self._send_lock = threading.Lock()
        self.read_timeout = opts.stall_timeout if opts.heartbeat else NO_HEARTBEAT_TIMEOUT
        self.thread = threading.Thread(target=self._read, name=f"secfeed-read-{conn}", daemon=True)
        self.sock.settimeout(SLICE)

    def start(self) -> None:
        self.thread.start()

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for the reader to end; whether it has."""
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def send_text(self, text: str) -> None:
        self._send(OP_TEXT, text.encode(), SEND_TIMEOUT)

    def _send(self, opcode: int, payload: bytes, timeout: float) -> None:
        """Send one masked frame within ``timeout`` seconds; raises OSError otherwise."""
        data = client_frame(opcode, payload)
        deadline = time.monotonic() + timeout
        if not self._send_lock.acquire(timeout=timeout):
            raise TimeoutError("another send is blocked")
        try:
            view = memoryview(data)
            while view:
                try:
                    sent = self.sock.send(view)
                except TimeoutError:  # a slice passed with nothing sent: the same bytes again
                    if time.monotonic() >= deadline:
                        raise
                    continue
                view = view[sent:]
        finally:
            self._send_lock.release()

    def close(self, abort: bool = False) -> None:
        """We end this connection: a close frame, then the reader waits at most CLOSE_WAIT
        for the server's reply; with ``abort`` cut it now. Its end is then not a reason to
        reconnect."""
        if not self.closing:
            self.closing = True
            self.close_by = time.monotonic() + CLOSE_WAIT
            if abort or not self._send_close():
                self._shutdown()
        elif abort:
            self._shutdown()

    def _send_close(self) -> bool:
        try:
            self._send(OP_CLOSE, (1000).to_bytes(2, "big"), CLOSE_WAIT)
            return True
        except OSError:  # the socket is gone, or the send did not get through in time
            return False

    def _shutdown(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _read(self) -> None:
        try:
            reason = self._read_frames()
        finally:
            self._shutdown()
            self.sock.close()
        self._put(Closed(self, reason))

    def _read_frames(self) -> str:
        """Read until the connection ends; the reason it ended."""
        reader = FrameReader(self.opts.max_frame)
        sock = self.sock
        data = self.leftover
        self.leftover = b""
        try:
            while True:
                if not data:
                    try:
                        data = sock.recv(1 << 16)
                    except TimeoutError:
                        if (why := self._overdue()) is not None:
                            return why
                        continue
                    if not data:
                        return "closed" if self.closing else "connection dropped (no close frame)"
                now = time.time()
                frames = reader.feed(data)
                data = b""
                if not frames:  # bytes, but no complete frame: a trickle is still a stall
                    if reader.error is not None:
                        return f"protocol error: {reader.error}"
                    if (why := self._overdue()) is not None:
                        return why
                    continue
                self.last_frame = time.monotonic()
                if reader.all_text:  # the usual case: hand them on without a look
                    self._put(Texts(self, list(map(_PAYLOAD, frames)), now))
                    continue
                batch: list[tuple[int, bytes]] = []
                for opcode, payload in frames:
                    if opcode == OP_PING:
                        self._send(OP_PONG, payload, SEND_TIMEOUT)
                    elif opcode == OP_CLOSE:
                        if batch:
                            self._put(Frames(self, batch, now))
                        if not self.closing:
                            self._send_close()  # answer the server's close handshake
                        return _close_reason(payload)
                    elif opcode in (OP_TEXT, OP_BINARY, OVERSIZE):
                        batch.append((opcode, payload))
                if batch:
                    self._put(Frames(self, batch, now))
                if reader.error is not None:  # the frames before the break were handed on
                    return f"protocol error: {reader.error}"
        except TimeoutError:
            return "closed" if self.closing else "a send timed out (the server is not reading)"
        except OSError as exc:  # ssl.SSLError included
            return "closed" if self.closing else f"connection error: {exc}"

    def _overdue(self) -> str | None:
        """Why to stop waiting now, if a clock ran out."""
        now = time.monotonic()
        if self.closing and now >= self.close_by:
            return "closed"
        if now - self.last_frame >= self.read_timeout:
            return f"no complete frame for {self.read_timeout:g} s (stalled)"
        return None

    def _put(self, item: Item) -> None:
        try:
            self.out.put_nowait(item)
            return
        except queue.Full:
            self.on_lag()
        while True:  # wait for the output, but not for ever once this connection is closing
            try:
                self.out.put(item, timeout=SLICE)
                break
            except queue.Full:
                if self.closing and time.monotonic() >= self.close_by:
                    return
        # The time spent waiting for our own output is not the server's silence: the stall
        # watchdog (time since the last complete frame) starts again as reading resumes.
        # Otherwise the first read after a long wait, if it held no whole frame yet, looked
        # like a stalled server, and the reconnect dropped what the server had sent meanwhile.
        self.last_frame = time.monotonic()


def _close_reason(payload: bytes) -> str:
    code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
    text = payload[2:].decode("utf-8", "replace")
    return f"closed by server ({code}{' ' + text if text else ''})"


def connect(conn: int, out: Outbox, opts: ConnectOptions, on_lag: Callable[[], None]) -> Link:
    """Open connection number ``conn``: the handshake, the hello, then its reader thread."""
    opened = handshake(opts)
    link = Connection(conn, opened, out, opts, on_lag)
    if opts.heartbeat:
        try:
            link.send_text(hello_frame(True))
        except OSError:
            link._shutdown()  # its reader reports the end; a reconnect follows
    link.start()
    return link


def handshake(opts: ConnectOptions) -> Opened:
    url, header = request_target(opts.url, opts.api_key, opts.key_in)
    timeout = opts.connect_timeout
    if opts.deadline is not None:
        timeout = min(timeout, opts.deadline - time.monotonic())
    try:
        return open_websocket(url, header, timeout, opts.ca_bundle, opts.proxy)
    except Refused as exc:
        if exc.status in (401, 403):
            raise AuthRejected(f"the server refused the API key (HTTP {exc.status})") from None
        if 300 <= exc.status < 400:
            where = exc.location or "(no Location)"
            raise ConnectFailed(
                f"the server redirected to {where[:200]}; secfeed does not follow redirects"
                " (the API key would go with it): use that URL with --url if you trust it"
            ) from None
        raise
    except Untrusted as exc:
        raise ConnectFailed(str(exc)) from None


def request_target(url: str, api_key: str | None, key_in: str) -> tuple[str, list[str]]:
    """The URL and headers of the upgrade request: the key as ``Authorization`` or ``?apikey=``."""
    if not api_key:
        return url, []
    if key_in == "query":
        parts = urlsplit(url)
        query = "&".join(q for q in (parts.query, urlencode({"apikey": api_key})) if q)
        return urlunsplit(parts._replace(query=query)), []
    return url, [f"Authorization: {api_key}"]


def describe(exc: BaseException) -> str:
    """A connect failure on one line. The handshake words its own failures (refused, cannot
    resolve, timed out: HandshakeError); anything else is an OSError mid-handshake."""
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
