"""The connection to the feed: reader threads, watchdog, reconnects, dedupe. Yields events.

Each connection has a reader thread that turns socket bytes into frames and hands them, in
batches, to one bounded queue; :meth:`Stream.events` (the caller's thread) parses them, drops
duplicates and decides when a backlog is complete. Reading therefore never waits for the output,
except through that bounded queue: when it fills, reading stops, TCP pushes back, and a warning
says the client is falling behind before the server's 131 072-message buffer overflows.

No click, no rich: everything the user sees leaves as an event.
"""

from __future__ import annotations

import operator
import queue
import random
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

from .errors import DEFAULT_URL, AuthRejected, ConnectFailed, ServerReportedError
from .frames import OP_BINARY, OP_CLOSE, OP_PING, OP_TEXT, OVERSIZE, FrameError, FrameReader
from .protocol import (
    Filing,
    Heartbeat,
    Message,
    ProtocolError,
    Reconnect,
    ServerError,
    UnknownMessage,
    hello_frame,
    parse_filings,
    parse_frame,
)
from .redact import redact


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


# ---- events -------------------------------------------------------------------------------


@dataclass(slots=True)
class NewFilings:
    """Filings not delivered before, in order, from one socket read."""

    filings: list[Filing]
    received: float  # time.time() when their bytes were read


@dataclass(frozen=True, slots=True)
class BacklogComplete:
    initial: bool  # the first connection's backlog (what --backlog-only waits for)
    new: int  # backlog filings not seen before
    overlap: int  # backlog filings already printed (replayed after a reconnect)


@dataclass(frozen=True, slots=True)
class Connected:
    conn: int
    host: str


@dataclass(frozen=True, slots=True)
class Disconnected:
    conn: int
    reason: str
    retry_in: float | None  # None when no reconnect follows


@dataclass(frozen=True, slots=True)
class Malformed:
    kind: str
    reason: str


@dataclass(frozen=True, slots=True)
class Notice:
    """A diagnostic for stderr. ``key`` set: show once per run. ``verbose``: only with -v."""

    text: str
    key: str | None = None
    verbose: bool = False
    level: str = "warning"


@dataclass(frozen=True, slots=True)
class Idle:
    """Nothing arrived for a while; lets the caller check its clock."""


Event = NewFilings | BacklogComplete | Connected | Disconnected | Malformed | Notice | Idle
CAUGHT_UP = Idle()


@dataclass
class Stats:
    """Counters the status line and the exit summary read (written by the events thread)."""

    host: str = ""
    state: str = "connecting"
    received: int = 0
    duplicates: int = 0
    malformed: int = 0
    backlog_complete: bool = False
    last_heartbeat: float | None = None  # time.monotonic()
    lagging: bool = False


# ---- dedupe -------------------------------------------------------------------------------


class SeenSet:
    """Accession numbers already delivered: O(1) per filing, the oldest forgotten past ``size``."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._set: set[str] = set()
        self._order: deque[str] = deque()

    def __contains__(self, key: str) -> bool:
        return key in self._set

    def __len__(self) -> int:
        return len(self._set)

    def add(self, key: str) -> bool:
        """Remember ``key``; False if it was already there (one hash lookup either way)."""
        seen = self._set
        before = len(seen)
        seen.add(key)
        if len(seen) == before:
            return False
        self._order.append(key)
        if before >= self.size:
            seen.discard(self._order.popleft())
        return True

    def fresh(self, filings: list[Filing]) -> list[Filing]:
        """Remember a batch's accessions; the filings whose accession was new, in order.

        The usual batch is all new and has no repeats: then it is taken in set operations
        over the whole batch, with the same result as :meth:`add` on each in turn.
        """
        keys = list(map(_ACCESSION, filings))
        batch = set(keys)
        seen = self._set
        if len(batch) != len(keys) or not seen.isdisjoint(batch):
            add = self.add
            return [f for f, key in zip(filings, keys, strict=True) if add(key)]
        seen |= batch
        order = self._order
        order.extend(keys)
        for _ in range(len(seen) - self.size):
            seen.discard(order.popleft())
        return filings


# ---- one connection -----------------------------------------------------------------------

_TEXTS, _DATA, _CLOSED = "texts", "data", "closed"
_PAYLOAD = operator.itemgetter(1)
_ACCESSION = operator.attrgetter("accession_no")
_HISTORICAL = operator.attrgetter("is_historical")


class Connection:
    """One WebSocket connection and its reader thread."""

    def __init__(
        self,
        conn: int,
        ws: Any,
        out: queue.Queue[tuple[Connection, str, Any]],
        opts: ConnectOptions,
        stats: Stats,
    ) -> None:
        self.conn = conn
        self.ws = ws
        self.sock: socket.socket = ws.sock
        self.out = out
        self.opts = opts
        self.stats = stats
        self.backlog_done = False
        self.backlog_new = 0
        self.backlog_overlap = 0
        self.backlog_oldest: str | None = None  # discovered_time of its first backlog filing
        self.delivered = 0
        self.last_frame = time.monotonic()
        self.closing = False
        self.reconnect_requested = False
        self.error: ServerError | None = None
        self._send_lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, name=f"secfeed-read-{conn}", daemon=True)

    def start(self) -> None:
        self.sock.settimeout(self.opts.stall_timeout if self.opts.heartbeat else None)
        self.thread.start()

    def send_text(self, text: str) -> None:
        with self._send_lock:
            self.ws.send(text)

    def close(self, abort: bool = False) -> None:
        """We end this connection: a clean close (the reader sees the server's close frame),
        or with ``abort`` cut it now. Its end is then not a reason to reconnect."""
        self.closing = True
        if abort or not self._send_close():
            self._shutdown()

    def _send_close(self) -> bool:
        try:
            with self._send_lock:
                self.ws.send_close()
            return True
        except Exception:  # the socket is already gone
            return False

    def _shutdown(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _read(self) -> None:
        reader = FrameReader(self.opts.max_frame)
        reason = "closed by server"
        try:
            while True:
                try:
                    data = self.sock.recv(1 << 16)
                except TimeoutError:
                    reason = f"no data for {self.opts.stall_timeout:g} s (stalled)"
                    break
                if not data:
                    reason = "connection dropped (no close frame)"
                    break
                now = time.time()
                self.last_frame = time.monotonic()
                frames = reader.feed(data)
                if reader.all_text:  # the usual case: hand them on without a look
                    if frames:
                        self._put((_TEXTS, (list(map(_PAYLOAD, frames)), now)))
                    continue
                batch: list[tuple[int, bytes]] = []
                for opcode, payload in frames:
                    if opcode == OP_PING:
                        with self._send_lock:
                            self.ws.pong(payload)
                    elif opcode == OP_CLOSE:
                        code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                        text = payload[2:].decode("utf-8", "replace")
                        reason = f"closed by server ({code}{' ' + text if text else ''})"
                        if batch:
                            self._put((_DATA, (batch, now)))
                        if not self.closing:
                            self._send_close()  # answer the server's close handshake
                        self._shutdown()
                        self._put((_CLOSED, reason))
                        return
                    elif opcode in (OP_TEXT, OP_BINARY, OVERSIZE):
                        batch.append((opcode, payload))
                if batch:
                    self._put((_DATA, (batch, now)))
        except FrameError as exc:
            reason = f"protocol error: {exc}"
        except (OSError, ssl.SSLError) as exc:
            reason = "closed" if self.closing else f"connection error: {exc}"
        except Exception as exc:  # the websocket library failed while sending a pong
            reason = f"connection error: {exc}"
        self._shutdown()
        self._put((_CLOSED, reason))

    def _put(self, item: tuple[str, Any]) -> None:
        try:
            self.out.put_nowait((self, *item))
        except queue.Full:
            self.stats.lagging = True
            self.out.put((self, *item))


# ---- the stream ---------------------------------------------------------------------------


class Stream:
    """Connections to the feed over time, as one exactly-once sequence of events."""

    def __init__(self, opts: ConnectOptions, tick: float = 0.2) -> None:
        self.opts = opts
        self.tick = tick
        self.stats = Stats(host=urlsplit(opts.url).netloc)
        self.seen = SeenSet(opts.dedupe_size)
        self.queue: queue.Queue[tuple[Connection, str, Any]] = queue.Queue(opts.queue_batches)
        self.active: list[Connection] = []
        self._ids = 0
        self._failures = 0
        self._last_seen_time: str | None = None
        self._lag_warned = False
        self._gap_from: str | None = None  # last filing time before an outage

    # -- connecting --

    def _handshake(self) -> Any:
        import websocket  # lazy: keeps `secfeed --version` fast

        opts = self.opts
        url, header = request_target(opts.url, opts.api_key, opts.key_in)
        sslopt: dict[str, Any] = {}
        if opts.ca_bundle:
            sslopt["ca_certs"] = opts.ca_bundle
        kwargs: dict[str, Any] = {}
        if opts.proxy:
            p = urlsplit(opts.proxy)
            kwargs.update(
                http_proxy_host=p.hostname, http_proxy_port=p.port or 8080, proxy_type="http"
            )
            if p.username:
                kwargs["http_proxy_auth"] = (unquote(p.username), unquote(p.password or ""))
        try:
            return websocket.create_connection(
                url,
                header=header,
                timeout=opts.connect_timeout,
                sslopt=sslopt,
                skip_utf8_validation=True,
                enable_multithread=False,
                **kwargs,
            )
        except websocket.WebSocketBadStatusException as exc:
            status = getattr(exc, "status_code", None)
            if status in (401, 403):
                raise AuthRejected(f"the server refused the API key (HTTP {status})") from None
            raise ConnectionError(f"the server answered HTTP {status}") from None
        except ssl.SSLCertVerificationError as exc:
            raise ConnectFailed(
                f"TLS certificate of {self.stats.host} not trusted: {exc.verify_message}"
                " (use --ca-bundle FILE for a private CA)"
            ) from None

    def _connect(self, standby: bool = False) -> Iterator[Event]:
        """Connect, retrying with backoff (and saying so); yields ``Connected`` at the end.

        Raises when the retries run out, or at once for a rejected key or an untrusted
        certificate, which no retry can fix. ``standby``: a live connection carries on, so
        try once and on failure only warn (its end will bring the usual reconnects).
        """
        import websocket

        while True:
            if not standby:
                self.stats.state = "connecting"
            try:
                ws = self._handshake()
            except (OSError, websocket.WebSocketException, ConnectionError) as exc:
                reason = redact(_describe(exc), self.opts.api_key)
                if standby:
                    yield Notice(
                        f"could not open the new connection ({reason}); "
                        "staying on the current one until the server closes it"
                    )
                    return
                self._failures += 1
                if not self.opts.reconnect:
                    raise ConnectFailed(
                        f"could not connect to {self.stats.host}: {reason}"
                    ) from None
                limit = self.opts.max_retries
                if limit is not None and self._failures > limit:
                    raise ConnectFailed(
                        f"could not connect to {self.stats.host} after {self._failures} attempts:"
                        f" {reason}"
                    ) from None
                delay = self.backoff()
                yield Notice(
                    f"connect to {self.stats.host} failed ({reason}); retrying in {delay:.1f} s"
                )
                yield from self._pause(delay)
                continue
            self._ids += 1
            conn = Connection(self._ids, ws, self.queue, self.opts, self.stats)
            if self.opts.heartbeat:
                conn.send_text(hello_frame(True))
            conn.start()
            self.active.append(conn)
            self.stats.state = "connected"
            yield Connected(conn.conn, self.stats.host)
            return

    def backoff(self) -> float:
        """Exponential backoff with full jitter: uniform(0, min(30, 0.5 * 2**(failures-1)))."""
        cap = min(30.0, 0.5 * 2 ** min(self._failures - 1, 16))
        return random.uniform(0.0, cap)

    # -- the event sequence --

    def events(self) -> Iterator[Event]:
        yield from self._connect()
        while self.active:
            try:
                owner, kind, payload = self.queue.get(timeout=self.tick)
            except queue.Empty:
                yield from self._on_idle()
                continue
            if kind == _TEXTS:
                yield from self._on_texts(owner, *payload)
                yield CAUGHT_UP
            elif kind == _DATA:
                yield from self._on_data(owner, *payload)
                yield CAUGHT_UP  # what was read so far is handled: output may flush
            else:
                yield from self._on_closed(owner, payload)
            if self.stats.lagging and not self._lag_warned:
                self._lag_warned = True
                yield Notice(
                    "output is slower than the feed: reading is paused until it catches up; "
                    "the server drops clients that fall 131072 messages behind",
                    key="lagging",
                )
        raise ConnectFailed(f"connection to {self.stats.host} ended")  # pragma: no cover

    def _on_texts(self, owner: Connection, frames: list[bytes], received: float) -> Iterator[Event]:
        """The text frames of one socket read. Filings of the same phase take the fast path."""
        filings = parse_filings(frames)
        if filings is not None and (owner.backlog_done or all(map(_HISTORICAL, filings))):
            fresh = self._take(owner, filings)
            if fresh:
                yield self._batch(owner, fresh, received)
        else:  # anything else, or the first live filings: one by one
            yield from self._on_data(owner, [(OP_TEXT, frame) for frame in frames], received)

    def _take(self, conn: Connection, filings: list[Filing]) -> list[Filing]:
        """Count a batch of filings; those not delivered before (on any connection)."""
        n = len(filings)
        self.stats.received += n
        fresh = self.seen.fresh(filings)
        duplicates = n - len(fresh)
        self.stats.duplicates += duplicates
        if not conn.backlog_done:
            if conn.backlog_oldest is None:
                conn.backlog_oldest = filings[0].discovered_time
            conn.backlog_new += len(fresh)
            conn.backlog_overlap += duplicates
        return fresh

    def _on_data(
        self, owner: Connection, batch: list[tuple[int, bytes]], received: float
    ) -> Iterator[Event]:
        """The frames of one socket read: filings in batches, other messages as events."""
        filings: list[Filing] = []
        for opcode, frame in batch:
            message: Message | None = None
            if opcode == OP_TEXT:
                try:
                    message = parse_frame(frame)
                except ProtocolError as exc:
                    yield from self._malformed(exc.kind, exc.reason)
                    continue
                if type(message) is Filing and (message.is_historical or owner.backlog_done):
                    filings += self._take(owner, [message])
                    continue
            if filings:  # keep the order: filings so far, then this event
                yield self._batch(owner, filings, received)
                filings = []
            if message is None:
                yield from self._on_other_frame(opcode, frame)
            elif type(message) is Filing:  # the first live filing ends the backlog
                yield from self._backlog_done(owner)
                filings += self._take(owner, [message])
            else:
                yield from self._on_message(owner, message)
        if filings:
            yield self._batch(owner, filings, received)

    def close(self) -> None:
        for conn in list(self.active):
            conn.close()
        for conn in list(self.active):
            conn.thread.join(timeout=1.0)
            if conn.thread.is_alive():
                conn.close(abort=True)

    def _on_idle(self) -> Iterator[Event]:
        yield Idle()
        if not self.opts.heartbeat:
            now = time.monotonic()
            for conn in self.active:
                if not conn.backlog_done and now - conn.last_frame >= self.opts.settle:
                    yield from self._backlog_done(conn)

    def _on_other_frame(self, opcode: int, frame: bytes) -> Iterator[Event]:
        if opcode == OP_BINARY:
            yield from self._malformed("binary", f"binary frame of {len(frame)} bytes")
        else:
            yield from self._malformed("too-large", f"frame of {frame.decode()} bytes skipped")

    def _batch(self, conn: Connection, filings: list[Filing], received: float) -> NewFilings:
        conn.delivered += len(filings)
        self._failures = 0  # a connection that delivers resets the backoff
        self._last_seen_time = filings[-1].discovered_time
        return NewFilings(filings, received)

    def _on_message(self, conn: Connection, message: Message) -> Iterator[Event]:
        stats = self.stats
        if isinstance(message, Heartbeat):
            stats.last_heartbeat = time.monotonic()
            if message.spelling != "heartbeat":
                yield Notice(
                    f"server spells heartbeat {message.spelling!r}",
                    key="hearbeat",
                    verbose=True,
                    level="info",
                )
            if not conn.backlog_done:
                yield from self._backlog_done(conn)
        elif isinstance(message, Reconnect):
            yield from self._on_reconnect(conn, message)
        elif isinstance(message, ServerError):
            yield from self._on_error(conn, message)
        elif isinstance(message, UnknownMessage):
            yield from self._malformed("unknown-type", f"unknown message type {message.type!r}")

    def _malformed(self, kind: str, reason: str) -> Iterator[Event]:
        self.stats.malformed += 1
        yield Malformed(kind, reason)

    def _backlog_done(self, conn: Connection) -> Iterator[Event]:
        conn.backlog_done = True
        initial = not self.stats.backlog_complete  # the first backlog to complete
        if initial:
            self.stats.backlog_complete = True
        if self._gap_from is not None and conn.backlog_overlap == 0:  # said first: it matters
            until = conn.backlog_oldest or "now"
            yield Notice(
                f"filings discovered between {self._gap_from} and {until} may have been missed:"
                " the new connection's backlog does not reach back to the last filing seen",
                level="warning",
            )
        self._gap_from = None
        yield BacklogComplete(initial, conn.backlog_new, conn.backlog_overlap)
        # A make-before-break switch completes once the new backlog has been read.
        for old in list(self.active):
            if old is not conn and old.reconnect_requested and not old.closing:
                old.close()

    def _on_reconnect(self, conn: Connection, message: Reconnect) -> Iterator[Event]:
        if conn.reconnect_requested:
            return
        conn.reconnect_requested = True
        yield Notice(
            f"server asked to reconnect within {message.within_seconds:g} s; "
            "opening a new connection before closing this one",
            level="info",
        )
        self._gap_from = None  # the old connection stays open: nothing can be missed
        yield from self._connect(standby=True)

    def _on_error(self, conn: Connection, error: ServerError) -> Iterator[Event]:
        conn.error = error
        if error.is_invalid_key:
            self.close()
            raise AuthRejected(f"the server rejected the API key: {error.message}")
        if error.is_overflow:
            yield Notice(
                f"server error: {error.message} This client read too slowly and the server "
                "dropped it; reconnecting",
                key=None,
            )
        else:
            yield Notice(f"server error: {error.message}")
        if not self.opts.reconnect:
            self.close()
            raise ServerReportedError(f"the server reported an error: {error.message}")

    def _on_closed(self, conn: Connection, reason: str) -> Iterator[Event]:
        if conn in self.active:
            self.active.remove(conn)
        if conn.closing and conn.reconnect_requested:
            yield Notice(
                f"connection #{conn.conn} closed after the switch", verbose=True, level="info"
            )
            return
        if conn.closing:
            return
        if self.active:  # another connection (make-before-break) carries on
            return
        self.stats.state = "disconnected"
        if not self.opts.reconnect:
            yield Disconnected(conn.conn, reason, None)
            if conn.error is not None:
                raise ServerReportedError(f"the server reported an error: {conn.error.message}")
            raise ConnectFailed(f"connection to {self.stats.host} ended: {reason}")
        if conn.delivered:
            self._failures = 0
        self._failures += 1
        limit = self.opts.max_retries
        if limit is not None and self._failures > limit:
            raise ConnectFailed(f"gave up reconnecting to {self.stats.host}: {reason}")
        delay = self.backoff()
        yield Disconnected(conn.conn, reason, delay)
        self._gap_from = self._last_seen_time
        yield from self._pause(delay)
        yield from self._connect()

    def _pause(self, seconds: float) -> Iterator[Event]:
        """Wait out a backoff in slices, yielding Idle so the caller's clock (--duration) runs."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(left, self.tick))
            yield Idle()


def request_target(url: str, api_key: str | None, key_in: str) -> tuple[str, list[str]]:
    """The URL and headers of the upgrade request: the key as ``Authorization`` or ``?apikey=``."""
    if not api_key:
        return url, []
    if key_in == "query":
        parts = urlsplit(url)
        query = "&".join(q for q in (parts.query, urlencode({"apikey": api_key})) if q)
        return urlunsplit(parts._replace(query=query)), []
    return url, [f"Authorization: {api_key}"]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host ({exc.strerror})"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
