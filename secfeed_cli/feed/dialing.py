"""Dialing the feed: connect, and on failure retry with backoff (``retry.py``), saying so once
per cause; wait out a backoff in ticks; the handshake's lines for ``-v``. The base of
:class:`stream.Stream`, which owns the connections once they are open.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import msgspec

from ..errors import ConnectFailed, SecfeedError
from ..wire.protocol import ServerError
from .connection import connect, describe
from .events import Connected, Event, Idle, Notice, Stats
from .links import ConnectOptions, Connector, Link, Outbox
from .retry import Retry
from .sockets import HandshakeError


class Tracked(msgspec.Struct, eq=False):
    """What the stream keeps about one connection, beside the connection itself."""

    link: Link
    backlog_done: bool = False
    backlog_new: int = 0
    backlog_overlap: int = 0
    backlog_oldest: str | None = None  # discovered_time of its first backlog filing
    delivered: int = 0
    reconnect_requested: bool = False
    error: ServerError | None = None

    @property
    def conn(self) -> int:
        return self.link.conn

    @property
    def closing(self) -> bool:
        return self.link.closing

    def close(self, abort: bool = False) -> None:
        self.link.close(abort)


class Dialing:
    """The connections being dialled and held: what :class:`stream.Stream` reads them from.

    ``tick``: the slice a backoff is waited out in; ``connector``: how a connection is
    opened (a test's, or the socket's).
    """

    def __init__(self, opts: ConnectOptions, tick: float, connector: Connector | None) -> None:
        self.opts = opts
        self.tick = tick
        self.stats = Stats(host=urlsplit(opts.url).netloc)
        #: What the connections' threads hand on, in order (bounded: a slow reader holds them).
        self.queue: Outbox = queue.Queue(opts.queue_batches)
        self.connector: Connector = connector or self._connect_socket
        self.active: list[Tracked] = []
        self.retry = Retry(opts.max_retries)
        #: What was going on, for a caller that gives up at ``opts.deadline`` (snapshot).
        self.last_cause = "not connected yet"
        self._ids = 0
        self._said_cause: str | None = None  # the connect failure last warned about
        #: -v: the last handshake's lines, said once it succeeded or failed
        self._trace: list[str] = []

    def _connect_socket(self, conn: int, out: Outbox) -> Link:
        trace = self._trace if self.opts.trace else None
        return connect(conn, out, self.opts, self._lagging, trace)

    def _traced(self) -> Iterator[Event]:
        for line in self._trace:
            yield Notice(line, level="info", verbose=True)
        self._trace.clear()

    def _lagging(self) -> None:
        self.stats.lagging = True

    # -- connecting --

    def _connect(self, standby: bool = False) -> Iterator[Event]:
        """Connect, retrying with backoff (and saying so); yields ``Connected`` at the end.

        Raises when the retries run out, or at once for a rejected key or an untrusted
        certificate, which no retry can fix. ``standby``: a live connection carries on, so
        try once and on failure only warn (its end will bring the usual reconnects).
        """
        while True:
            if not standby:
                self.stats.state = "connecting"
                self.stats.retry_at = None
            if self.opts.deadline is not None and time.monotonic() >= self.opts.deadline:
                yield Idle()  # the caller gives up here, with last_cause intact
                continue
            try:
                link = self.connector(self._ids + 1, self.queue)
            except (OSError, HandshakeError) as exc:
                yield from self._traced()
                reason = describe(exc)  # shown through diagnostics, which redact the key
                self.last_cause = reason
                if standby:
                    yield Notice(
                        f"could not open the new connection ({reason}); "
                        "staying on the current one until the server closes it"
                    )
                    return
                again = self.retry.failed()
                if not self.opts.reconnect:
                    raise ConnectFailed(
                        f"could not connect to {self.stats.host}: {reason}"
                    ) from None
                if not again:
                    n = self.retry.failures
                    raise ConnectFailed(
                        f"could not connect to {self.stats.host} after {n}"
                        f" attempt{'s' if n > 1 else ''}: {reason}"
                    ) from None
                delay = self.backoff()
                hint = ""
                if self._ids == 0 and reason.startswith("cannot resolve"):
                    hint = " (check the host in --url, and this machine's DNS)"
                # The first failure and each change of cause; every attempt with -v (the status
                # line counts down to the next one meanwhile).
                yield Notice(
                    f"connect to {self.stats.host} failed: {reason}{hint};"
                    f" retrying in {delay:.1f} s",
                    verbose=reason == self._said_cause,
                )
                self._said_cause = reason
                self._waiting(reason, delay)
                yield from self._pause(delay)
                continue
            except SecfeedError:  # a rejected key, a redirect: the answer, then the error
                yield from self._traced()
                raise
            yield from self._traced()
            self._ids += 1
            self.stats.connections += 1
            self._said_cause = None  # a later outage is said again
            conn = Tracked(link)
            self.active.append(conn)
            self.stats.state = "connected"
            self.stats.cause = self.stats.retry_at = None
            self.last_cause = "connected, but the backlog was incomplete (no heartbeat yet)"
            yield Connected(conn.conn, self.stats.host)
            return

    def _waiting(self, cause: str, delay: float) -> None:
        """Between attempts: what the status line says, and when the next attempt is."""
        self.stats.state = "waiting"
        self.stats.cause = cause
        self.stats.retry_at = time.monotonic() + delay

    def backoff(self) -> float:
        """The wait before the next attempt (``retry.py``)."""
        return self.retry.delay()

    def _pause(self, seconds: float) -> Iterator[Event]:
        """Wait out a backoff in slices, yielding Idle so the caller's clock (--duration) runs."""
        end = time.monotonic() + seconds
        if self.opts.deadline is not None:
            end = min(end, self.opts.deadline)
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(left, self.tick))
            yield Idle()
