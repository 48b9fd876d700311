"""The connection to the feed: reader threads, watchdog, reconnects, dedupe. Yields events.

Each connection has a reader thread that turns socket bytes into frames and hands them, in
batches, to one bounded queue; :meth:`Stream.events` (the caller's thread) parses them, drops
duplicates and decides when a backlog is complete. Reading therefore never waits for the output,
except through that bounded queue: when it fills, reading stops, TCP pushes back, and a warning
says the client is falling behind before the server's 131 072-message buffer overflows.

No click, no rich: everything the user sees leaves as an event.
"""

from __future__ import annotations

import math
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
from urllib.parse import urlencode, urlsplit, urlunsplit

from .errors import DEFAULT_URL, AuthRejected, ConnectFailed, ServerReportedError
from .frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    OVERSIZE,
    FrameReader,
)
from .handshake import (
    HandshakeError,
    Opened,
    Refused,
    Untrusted,
    open_websocket,
)
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

#: The socket timeout: how often an idle reader looks at its clocks.
SLICE = 0.25
#: How long a hello or a pong may take to leave.
SEND_TIMEOUT = 5.0
#: How long closing waits for the server's close reply before cutting the connection.
CLOSE_WAIT = 0.25
#: With --no-heartbeat the server still pings every 60 s: a little over two ping intervals.
NO_HEARTBEAT_TIMEOUT = 130.0

_TEXTS, _DATA, _CLOSED = "texts", "data", "closed"
_PAYLOAD = operator.itemgetter(1)
_ACCESSION = operator.attrgetter("accession_no")
_HISTORICAL = operator.attrgetter("is_historical")


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
        out: queue.Queue[tuple[Connection, str, Any]],
        opts: ConnectOptions,
        stats: Stats,
    ) -> None:
        self.conn = conn
        self.sock = opened.sock
        self.leftover = opened.leftover
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
        self.close_by = math.inf  # once closing: when to stop waiting for the server's reply
        self.reconnect_requested = False
        self.error: ServerError | None = None
        self._send_lock = threading.Lock()
        self.read_timeout = opts.stall_timeout if opts.heartbeat else NO_HEARTBEAT_TIMEOUT
        self.thread = threading.Thread(target=self._read, name=f"secfeed-read-{conn}", daemon=True)
        self.sock.settimeout(SLICE)

    def start(self) -> None:
        self.thread.start()

    def send_text(self, text: str) -> None:
        self._send(OP_TEXT, text.encode(), SEND_TIMEOUT)

    def _send(self, opcode: int, payload: bytes, timeout: float) -> None:
        """Send one masked frame within ``timeout`` seconds; raises OSError otherwise."""
        import websocket  # lazy: its frame encoder masks what a client sends

        data = websocket.ABNF.create_frame(payload, opcode).format()
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
        self._put((_CLOSED, reason))

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
                    self._put((_TEXTS, (list(map(_PAYLOAD, frames)), now)))
                    continue
                batch: list[tuple[int, bytes]] = []
                for opcode, payload in frames:
                    if opcode == OP_PING:
                        self._send(OP_PONG, payload, SEND_TIMEOUT)
                    elif opcode == OP_CLOSE:
                        if batch:
                            self._put((_DATA, (batch, now)))
                        if not self.closing:
                            self._send_close()  # answer the server's close handshake
                        return _close_reason(payload)
                    elif opcode in (OP_TEXT, OP_BINARY, OVERSIZE):
                        batch.append((opcode, payload))
                if batch:
                    self._put((_DATA, (batch, now)))
                if reader.error is not None:  # the frames before the break were handed on
                    return f"protocol error: {reader.error}"
        except TimeoutError:
            return "closed" if self.closing else "a send timed out (the server is not reading)"
        except (OSError, ssl.SSLError) as exc:
            return "closed" if self.closing else f"connection error: {exc}"

    def _overdue(self) -> str | None:
        """Why to stop waiting now, if a clock ran out."""
        now = time.monotonic()
        if self.closing and now >= self.close_by:
            return "closed"
        if now - self.last_frame >= self.read_timeout:
            return f"no complete frame for {self.read_timeout:g} s (stalled)"
        return None

    def _put(self, item: tuple[str, Any]) -> None:
        try:
            self.out.put_nowait((self, *item))
            return
        except queue.Full:
            self.stats.lagging = True
        while True:  # wait for the output, but not for ever once this connection is closing
            try:
                self.out.put((self, *item), timeout=SLICE)
                return
            except queue.Full:
                if self.closing and time.monotonic() >= self.close_by:
                    return


def _close_reason(payload: bytes) -> str:
    code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
    text = payload[2:].decode("utf-8", "replace")
    return f"closed by server ({code}{' ' + text if text else ''})"


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
        #: time.monotonic() by which the caller gives up (snapshot --timeout): connecting and
        #: backing off never run past it. ``last_cause`` says what was going on.
        self.deadline: float | None = None
        self.last_cause = "not connected yet"

    # -- connecting --

    def _handshake(self) -> Opened:
        opts = self.opts
        url, header = request_target(opts.url, opts.api_key, opts.key_in)
        timeout = opts.connect_timeout
        if self.deadline is not None:
            timeout = min(timeout, self.deadline - time.monotonic())
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

    def _connect(self, standby: bool = False) -> Iterator[Event]:
        """Connect, retrying with backoff (and saying so); yields ``Connected`` at the end.

        Raises when the retries run out, or at once for a rejected key or an untrusted
        certificate, which no retry can fix. ``standby``: a live connection carries on, so
        try once and on failure only warn (its end will bring the usual reconnects).
        """
        while True:
            if not standby:
                self.stats.state = "connecting"
            if self.deadline is not None and time.monotonic() >= self.deadline:
                yield Idle()  # the caller gives up here, with last_cause intact
                continue
            try:
                opened = self._handshake()
            except (OSError, HandshakeError) as exc:
                reason = redact(_describe(exc), self.opts.api_key)
                self.last_cause = reason
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
            conn = Connection(self._ids, opened, self.queue, self.opts, self.stats)
            if self.opts.heartbeat:
                try:
                    conn.send_text(hello_frame(True))
                except OSError:
                    conn._shutdown()  # its reader reports the end; a reconnect follows
            conn.start()
            self.active.append(conn)
            self.stats.state = "connected"
            self.last_cause = "connected, but the backlog was incomplete (no heartbeat yet)"
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
        """Close every connection: at most CLOSE_WAIT for the close handshakes, then cut."""
        conns = list(self.active)
        for conn in conns:
            conn.close()
        end = time.monotonic() + CLOSE_WAIT
        for conn in conns:
            conn.thread.join(timeout=max(0.0, end - time.monotonic()))
        for conn in conns:
            if conn.thread.is_alive():
                conn.close(abort=True)
                conn.thread.join(timeout=SLICE)

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
        if conn.reconnect_requested and not self._switch_pending(conn):
            yield from self._switch(conn)  # asked while another switch was pending

    def _switch_pending(self, conn: Connection) -> bool:
        """Another connection is open whose backlog is not complete: a switch under way."""
        return any(c is not conn and not c.backlog_done and not c.closing for c in self.active)

    def _on_reconnect(self, conn: Connection, message: Reconnect) -> Iterator[Event]:
        if conn.reconnect_requested:
            return
        conn.reconnect_requested = True
        if self._switch_pending(conn):  # at most one pending connection
            yield Notice(
                "server asked to reconnect while a new connection is still loading its backlog;"
                " switching once it has",
                verbose=True,
                level="info",
            )
            return
        yield from self._switch(conn, message.within_seconds)

    def _switch(self, conn: Connection, within: float | None = None) -> Iterator[Event]:
        window = "" if within is None else f" within {within:g} s"
        yield Notice(
            f"server asked to reconnect{window}; opening a new connection before closing"
            f" connection #{conn.conn}",
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
        self.last_cause = f"connection lost: {reason}"
        yield Disconnected(conn.conn, reason, delay)
        self._gap_from = self._last_seen_time
        yield from self._pause(delay)
        yield from self._connect()

    def _pause(self, seconds: float) -> Iterator[Event]:
        """Wait out a backoff in slices, yielding Idle so the caller's clock (--duration) runs."""
        end = time.monotonic() + seconds
        if self.deadline is not None:
            end = min(end, self.deadline)
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
    if isinstance(exc, HandshakeError):
        return str(exc)
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host ({exc.strerror})"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
