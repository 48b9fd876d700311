"""The feed over time: connections, reconnects, backlogs, dedupe, as one sequence of events.

:meth:`Stream.events` (the caller's thread) reads the connection itself when it has one, and
otherwise takes what the connections' keeper threads read into one bounded queue (they read
while the caller is away: its output blocked, or two connections during a switch). It parses
it, drops duplicates, decides when a backlog is complete, switches connections when the server
asks (make-before-break), reconnects with backoff and warns about gaps. While the output holds
the caller, reading goes on into that bounded queue only: when it fills, reading stops, TCP
pushes back, and a warning says the client is falling behind before the server's
131 072-message buffer overflows.

The connect function is injectable, so this state machine is tested without sockets
(tests/test_stream_machine.py). No click, no rich: everything the user sees leaves as an event.
"""

from __future__ import annotations

import operator
import queue
import time
from collections.abc import Iterator

from ..common.settings import SETTLE
from ..errors import AuthRejected, ConnectFailed, ServerReportedError
from ..wire.protocol import (
    Filing,
    Heartbeat,
    Message,
    ProtocolError,
    Reconnect,
    ServerError,
    UnknownMessage,
    parse_filings,
    parse_frame,
)
from .connection import CLOSE_WAIT, SLICE
from .dedupe import SeenSet
from .dialing import Dialing, Tracked
from .events import (
    CAUGHT_UP,
    BacklogComplete,
    Disconnected,
    Event,
    Idle,
    Malformed,
    NewFilings,
    Notice,
)
from .frames import OP_BINARY, OP_TEXT, DataFrame, Skipped
from .links import Closed, ConnectOptions, Connector, Frames, Item, Link, Texts

#: While a connection's keeper thread reads (after the output held the stream's thread), how
#: often the stream looks whether it may read again itself.
HANDOVER = 0.01

_HISTORICAL = operator.attrgetter("is_historical")


# ---- the stream ---------------------------------------------------------------------------


class Stream(Dialing):
    """Connections to the feed over time, as one exactly-once sequence of events."""

    def __init__(
        self,
        opts: ConnectOptions,
        tick: float = 0.2,
        connector: Connector | None = None,
        keep_frames: bool = True,
        settle: float = SETTLE,
    ) -> None:
        """``settle``: without heartbeats, the quiet seconds that end a backlog (--settle)."""
        super().__init__(opts, tick, connector)
        self.settle = settle
        #: Whether filings keep the frame they came in (``--raw`` writes it).
        self.keep_frames = keep_frames
        self.seen = SeenSet(opts.dedupe_size)
        self._last_seen_time: str | None = None
        self._lag_warned = False
        self._gap_from: str | None = None  # last filing time before an outage

    def _traffic(self, link: Link, why: str) -> Notice:
        """-v: what a connection carried, when it ends."""
        self.stats.frames += link.frames_in
        self.stats.bytes += link.bytes_in
        seconds = time.monotonic() - link.opened
        return Notice(
            f"connection #{link.conn} {why} after {seconds:.1f} s: {link.frames_in:,} frames,"
            f" {link.bytes_in:,} bytes read",
            level="info",
            verbose=True,
        )

    # -- the event sequence --

    def events(self) -> Iterator[Event]:
        yield from self._connect()
        while self.active:
            items = self._next()
            if not items:
                yield from self._on_idle()
                continue
            for item in items:
                owner = self._tracked(item.link)
                if owner is None:  # a late record of a connection already given up
                    continue
                if type(item) is Texts:
                    yield from self._on_texts(owner, item.frames, item.received)
                    yield CAUGHT_UP
                elif type(item) is Frames:
                    yield from self._on_data(owner, item.batch, item.received)
                    yield CAUGHT_UP  # what was read so far is handled: output may flush
                else:
                    assert type(item) is Closed
                    yield from self._on_closed(owner, item.reason)
            if self.stats.lagging and not self._lag_warned:
                self._lag_warned = True
                yield Notice(
                    "output is slower than the feed: reading is paused until it catches up; "
                    "the server drops clients that fall 131072 messages behind",
                    key="lagging",
                )
        raise ConnectFailed(f"connection to {self.stats.host} ended")  # pragma: no cover

    def _next(self) -> list[Item]:
        """What was read next, in order: first what a connection's keeper thread queued, then,
        with one connection, a read right here (``Link.read_direct``, asked first every time:
        it tells the keeper the stream is here to read, so the keeper lets go after its current
        step instead of staying ahead for the rest of a burst). Empty when a tick passed with
        nothing."""
        end = time.monotonic() + self.tick
        while True:
            direct = len(self.active) == 1
            if direct:
                read = self.active[0].link.read_direct()
                if read is not None:
                    return read
            try:
                return [self.queue.get_nowait()]
            except queue.Empty:
                pass
            wait = end - time.monotonic()
            if direct:
                wait = min(wait, HANDOVER)  # the keeper is reading: it lets go after this step
            try:
                return [self.queue.get(timeout=max(0.0, wait))]
            except queue.Empty:
                if time.monotonic() >= end:
                    return []

    def _tracked(self, link: Link) -> Tracked | None:
        for tracked in self.active:  # one or two
            if tracked.link is link:
                return tracked
        return None

    def _on_texts(self, owner: Tracked, frames: list[bytes], received: float) -> Iterator[Event]:
        """The text frames of one socket read. Filings of the same phase take the fast path."""
        filings = parse_filings(frames, self.keep_frames)
        if filings is not None and (owner.backlog_done or all(map(_HISTORICAL, filings))):
            fresh = self._take(owner, filings)
            if fresh:
                yield self._batch(owner, fresh, received)
        else:  # anything else, or the first live filings: one by one
            yield from self._on_data(owner, [(OP_TEXT, frame) for frame in frames], received)

    def _take(self, conn: Tracked, filings: list[Filing]) -> list[Filing]:
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

    def _on_data(self, owner: Tracked, batch: list[DataFrame], received: float) -> Iterator[Event]:
        """The frames of one socket read: filings in batches, other messages as events."""
        filings: list[Filing] = []
        for item in batch:
            message: Message | None = None
            if isinstance(item, Skipped):
                if filings:  # keep the order: filings so far, then this warning
                    yield self._batch(owner, filings, received)
                    filings = []
                yield from self._malformed("too-large", f"frame of {item.size} bytes skipped")
                continue
            opcode, frame = item
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

    @property
    def heartbeat(self) -> bool:
        return self.opts.heartbeat

    @property
    def deadline(self) -> float | None:
        return self.opts.deadline

    def unconsumed(self, filings: list[Filing]) -> None:
        pass  # the feed cannot be asked again for what was not shown

    def handled(self) -> None:
        pass  # the feed is not acknowledged

    def close(self, settled: bool = False) -> None:
        """Close every connection: at most CLOSE_WAIT for the close handshakes, then cut."""
        links = [tracked.link for tracked in self.active]
        for link in links:
            link.close()
        end = time.monotonic() + CLOSE_WAIT
        ended = [link.join(max(0.0, end - time.monotonic())) for link in links]
        for link, done in zip(links, ended, strict=True):
            if not done:
                link.close(abort=True)
                link.join(SLICE)
        for link in links:  # the exit summary's traffic (-v)
            self.stats.frames += link.frames_in
            self.stats.bytes += link.bytes_in

    def _on_idle(self) -> Iterator[Event]:
        yield Idle()
        if not self.opts.heartbeat:
            now = time.monotonic()
            for conn in self.active:
                if not conn.backlog_done and now - conn.link.last_frame >= self.settle:
                    yield from self._backlog_done(conn)

    def _on_other_frame(self, opcode: int, frame: bytes) -> Iterator[Event]:
        if opcode == OP_BINARY:
            yield from self._malformed("binary", f"binary frame of {len(frame)} bytes")

    def _batch(self, conn: Tracked, filings: list[Filing], received: float) -> NewFilings:
        conn.delivered += len(filings)
        self.retry.failures = 0  # a connection that delivers resets the backoff
        self._last_seen_time = filings[-1].discovered_time
        return NewFilings(filings, received)

    def _on_message(self, conn: Tracked, message: Message) -> Iterator[Event]:
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

    def _backlog_done(self, conn: Tracked) -> Iterator[Event]:
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
        # A make-before-break switch completes once the new backlog has been read.
        for old in list(self.active):
            if old is not conn and old.reconnect_requested and not old.closing:
                old.close()
        yield BacklogComplete(initial, conn.backlog_new, conn.backlog_overlap)
        if conn.reconnect_requested and not self._switch_pending():
            yield from self._switch(conn)  # asked while another switch was pending

    def _switch_pending(self) -> bool:
        """A connection is still loading its backlog (a switch under way, or the first one):
        no other is opened until it is done, so at most one is ever pending."""
        return any(not c.backlog_done and not c.closing for c in self.active)

    def _on_reconnect(self, conn: Tracked, message: Reconnect) -> Iterator[Event]:
        if conn.reconnect_requested:
            return
        conn.reconnect_requested = True
        if self._switch_pending():  # at most one pending connection
            yield Notice(
                "server asked to reconnect while a connection is still loading its backlog;"
                " switching once it has",
                verbose=True,
                level="info",
            )
            return
        yield from self._switch(conn, message.within_seconds)

    def _switch(self, conn: Tracked, within: float | None = None) -> Iterator[Event]:
        window = "" if within is None else f" within {within:g} s"
        yield Notice(
            f"server asked to reconnect{window}; opening a new connection before closing"
            f" connection #{conn.conn}",
            level="info",
        )
        self._gap_from = None  # the old connection stays open: nothing can be missed
        yield from self._connect(standby=True)

    def _on_error(self, conn: Tracked, error: ServerError) -> Iterator[Event]:
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

    def _on_closed(self, conn: Tracked, reason: str) -> Iterator[Event]:
        if conn in self.active:
            self.active.remove(conn)
        yield self._traffic(conn.link, f"ended ({reason})")
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
            self.retry.reset()
        if not self.retry.failed():
            raise ConnectFailed(f"gave up reconnecting to {self.stats.host}: {reason}")
        delay = self.backoff()
        self.last_cause = f"connection lost: {reason}"
        yield Disconnected(conn.conn, reason, delay)
        self._gap_from = self._last_seen_time
        self._waiting(f"connection lost: {reason}", delay)
        yield from self._pause(delay)
        yield from self._connect()
