"""The stream's state machine without sockets: an injected connector hands it scripted links.

Backlogs, dedupe across reconnects, gap warnings, make-before-break with at most one pending
connection, server errors: each checked event by event, in milliseconds. The same machine runs
over real sockets in test_faults.py and test_hostile.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from secfeed_cli.errors import AuthRejected, ConnectFailed
from secfeed_cli.feed.events import (
    BacklogComplete,
    Connected,
    Disconnected,
    Event,
    Idle,
    Malformed,
    NewFilings,
    Notice,
)
from secfeed_cli.feed.links import Closed, ConnectOptions, Item, Link, Outbox, Texts
from secfeed_cli.feed.sockets import HandshakeError
from secfeed_cli.feed.stream import Stream

from .rawserver import filing

pytestmark = pytest.mark.unit


class FakeLink:
    """A connection as the stream sees it; the test plays its reader thread."""

    def __init__(self, conn: int, out: Outbox) -> None:
        self.conn = conn
        self.out = out
        self.closing = False
        self.last_frame = time.monotonic()
        self.opened = time.monotonic()
        self.bytes_in = self.frames_in = 0

    def send_text(self, text: str) -> None:
        pass

    def close(self, abort: bool = False) -> None:
        if not self.closing:
            self.closing = True
            self.out.put(Closed(self, "closed"))  # the server answers the close at once

    def join(self, timeout: float) -> bool:
        return True

    def read_direct(self) -> list[Item] | None:
        return None  # the test puts what the link reads into the queue

    def read(self, *messages: dict[str, Any] | bytes) -> None:
        frames = [m if isinstance(m, bytes) else json.dumps(m).encode() for m in messages]
        self.out.put(Texts(self, frames, time.time()))

    def drop(self, reason: str = "connection dropped") -> None:
        self.out.put(Closed(self, reason))


class Connector:
    def __init__(self, failing: tuple[int, ...] = ()) -> None:
        self.failing = failing
        self.links: list[FakeLink] = []

    def __call__(self, conn: int, out: Outbox) -> Link:
        if conn in self.failing:
            raise HandshakeError("connection refused")
        link = FakeLink(conn, out)
        self.links.append(link)
        return link


class NoWait(Stream):
    def backoff(self) -> float:
        return 0.0


HEARTBEAT = {"type": "heartbeat"}


def start(**opts: Any) -> tuple[Stream, Connector, Iterator[Event]]:
    connector = Connector(opts.pop("failing", ()))
    settle = opts.pop("settle", 2.0)
    stream = NoWait(
        ConnectOptions(url="ws://127.0.0.1:9", **opts),
        tick=0.001,
        connector=connector,
        settle=settle,
    )
    events = stream.events()
    assert next(events) == Connected(1, "127.0.0.1:9")
    return stream, connector, events


def until(events: Iterator[Event], kind: type, limit: int = 1000) -> Any:
    """The next event of ``kind``, passing over others (a bounded number of steps)."""
    for _ in range(limit):
        event = next(events)
        if isinstance(event, kind):
            return event
    raise AssertionError(f"no {kind.__name__}")


def upto(events: Iterator[Event], kind: type, limit: int = 1000) -> list[Event]:
    """Every event up to and including the next one of ``kind``, Idle left out."""
    seen: list[Event] = []
    for _ in range(limit):
        event = next(events)
        if not isinstance(event, Idle):
            seen.append(event)
        if isinstance(event, kind):
            return seen
    raise AssertionError(f"no {kind.__name__}")


def ids(event: NewFilings) -> list[int]:
    return [int(f.accession_no[-6:]) for f in event.filings]


def test_backlog_then_live_filings_in_order() -> None:
    stream, connector, events = start()
    link = connector.links[0]
    link.read(filing(1), filing(2), HEARTBEAT)
    assert ids(until(events, NewFilings)) == [1, 2]
    assert until(events, BacklogComplete) == BacklogComplete(True, 2, 0)
    link.read(filing(3, historical=False))
    assert ids(until(events, NewFilings)) == [3]
    assert stream.stats.received == 3 and stream.stats.backlog_complete


def test_a_dropped_connection_replays_only_what_is_new() -> None:
    stream, connector, events = start()
    connector.links[0].read(filing(1), filing(2), HEARTBEAT)
    until(events, BacklogComplete)
    connector.links[0].drop()
    assert until(events, Disconnected) == Disconnected(1, "connection dropped", 0.0)
    assert until(events, Connected).conn == 2
    connector.links[1].read(filing(2), filing(3), HEARTBEAT)
    assert ids(until(events, NewFilings)) == [3]
    assert until(events, BacklogComplete) == BacklogComplete(False, 1, 1)
    assert stream.stats.duplicates == 1


def test_a_backlog_that_does_not_reach_back_is_a_gap_warning() -> None:
    _, connector, events = start()
    connector.links[0].read(filing(1), HEARTBEAT)
    until(events, BacklogComplete)
    connector.links[0].drop()
    until(events, Connected)
    connector.links[1].read(filing(5), filing(6), HEARTBEAT)
    seen = upto(events, BacklogComplete)
    assert isinstance(seen[-2], Notice) and "may have been missed" in seen[-2].text


def test_make_before_break_keeps_at_most_one_connection_pending() -> None:
    stream, connector, events = start()
    first = connector.links[0]
    first.read(filing(1), HEARTBEAT)
    until(events, BacklogComplete)
    first.read({"type": "reconnect", "within_seconds": 10})
    assert until(events, Connected).conn == 2  # opened before the first one is closed
    assert not first.closing
    second = connector.links[1]
    second.read({"type": "reconnect", "within_seconds": 10})  # during the switch
    second.read(filing(1), filing(2), HEARTBEAT)
    seen = upto(events, BacklogComplete)
    assert not any(isinstance(e, Connected) for e in seen)  # no third connection meanwhile
    assert len(connector.links) == 2
    assert ids(next(e for e in seen if isinstance(e, NewFilings))) == [2]
    assert seen[-1] == BacklogComplete(False, 1, 1)
    assert first.closing  # the switch completed
    assert until(events, Connected).conn == 3  # the deferred request, honoured now
    assert [t.conn for t in stream.active if not t.closing] == [2, 3]


def test_a_failed_switch_stays_on_the_current_connection() -> None:
    stream, connector, events = start(failing=(2,))
    connector.links[0].read(filing(1), HEARTBEAT)
    until(events, BacklogComplete)
    connector.links[0].read({"type": "reconnect", "within_seconds": 10})
    notices: list[str] = []
    while not any("staying on the current one" in n for n in notices):
        event = next(events)
        assert not isinstance(event, Connected | Disconnected)
        if isinstance(event, Notice):
            notices.append(event.text)
    connector.links[0].read(filing(2, historical=False))
    assert ids(until(events, NewFilings)) == [2]
    assert [t.conn for t in stream.active] == [1]


def test_a_rejected_key_ends_the_stream_at_once() -> None:
    _, connector, events = start()
    connector.links[0].read({"type": "error", "message": "Invalid API key"})
    with pytest.raises(AuthRejected):
        until(events, Connected)
    assert connector.links[0].closing


def test_malformed_frames_are_counted_and_the_rest_delivered() -> None:
    stream, connector, events = start()
    connector.links[0].read(b"not json", filing(1), {"type": "subscribe_ack"}, HEARTBEAT)
    seen = upto(events, BacklogComplete)
    assert [type(e).__name__ for e in seen] == [
        "Malformed",
        "NewFilings",
        "Malformed",
        "BacklogComplete",
    ]
    assert [e.kind for e in seen if isinstance(e, Malformed)] == ["json", "unknown-type"]
    assert stream.stats.malformed == 2


def test_without_reconnects_an_ended_connection_ends_the_stream() -> None:
    _, connector, events = start(reconnect=False)
    connector.links[0].drop("closed by server (1000)")
    assert until(events, Disconnected) == Disconnected(1, "closed by server (1000)", None)
    with pytest.raises(ConnectFailed, match="closed by server"):
        next(events)


def test_connect_failures_retry_until_max_retries() -> None:
    connector = Connector(failing=(1,))
    stream = NoWait(
        ConnectOptions(url="ws://127.0.0.1:9", max_retries=2), tick=0.001, connector=connector
    )
    events = stream.events()
    with pytest.raises(ConnectFailed, match="after 3 attempts: connection refused"):
        for _ in range(100):
            next(events)
    assert stream.last_cause == "connection refused"


def test_a_first_contact_failure_says_why_and_when_the_next_attempt_is() -> None:
    calls: list[int] = []
    links = Connector()

    def connector(conn: int, out: Outbox) -> Link:
        calls.append(conn)
        if len(calls) <= 2:
            raise HandshakeError("cannot resolve host nowhere.invalid (Name or service not known)")
        return links(conn, out)

    class ShortWait(Stream):
        def backoff(self) -> float:
            return 0.05  # long enough to be seen waiting: the pause yields Idle at each tick

    options = ConnectOptions(url="ws://nowhere.invalid:9")
    stream = ShortWait(options, tick=0.001, connector=connector)
    events = stream.events()
    notice = until(events, Notice)
    assert notice.text.startswith("connect to nowhere.invalid:9 failed: cannot resolve host")
    assert "(check the host in --url, and this machine's DNS)" in notice.text
    assert "; retrying in" in notice.text
    # While it waits, the status line can say why and for how long.
    assert isinstance(next(events), Idle)
    assert stream.stats.state == "waiting"
    assert stream.stats.cause is not None and stream.stats.cause.startswith("cannot resolve")
    assert stream.stats.retry_at is not None
    assert until(events, Connected) == Connected(1, "nowhere.invalid:9")
    assert stream.stats.state == "connected" and stream.stats.cause is None
    stream.close()


def test_a_gap_is_said_once_not_again_at_a_later_switch() -> None:
    _, connector, events = start()
    connector.links[0].read(filing(1), HEARTBEAT)
    until(events, BacklogComplete)
    connector.links[0].drop()
    until(events, Connected)
    connector.links[1].read(filing(5), filing(6), HEARTBEAT)
    seen = upto(events, BacklogComplete)
    assert sum("may have been missed" in getattr(e, "text", "") for e in seen) == 1
    connector.links[1].read({"type": "reconnect", "within_seconds": 10})  # no loss: a switch
    assert until(events, Connected).conn == 3
    connector.links[2].read(filing(7), HEARTBEAT)
    seen = upto(events, BacklogComplete)
    assert not any("may have been missed" in getattr(e, "text", "") for e in seen)


@pytest.mark.parametrize("heartbeat", [True, False])
def test_the_stream_says_whether_it_watches_heartbeats(heartbeat: bool) -> None:
    stream = Stream(ConnectOptions(url="ws://127.0.0.1:9", heartbeat=heartbeat))
    assert stream.heartbeat is heartbeat


def test_an_old_connection_lost_during_a_switch_is_not_said_closed_after_it() -> None:
    _, connector, events = start()
    first = connector.links[0]
    first.read(filing(1), HEARTBEAT)
    until(events, BacklogComplete)
    first.read({"type": "reconnect", "within_seconds": 10})
    assert until(events, Connected).conn == 2
    first.drop()  # the server let it go before the new backlog was read
    connector.links[1].read(filing(1), filing(2), HEARTBEAT)
    seen = [getattr(e, "text", "") for e in upto(events, BacklogComplete)]
    assert any("connection #1 ended (connection dropped)" in t for t in seen)
    assert not any("closed after the switch" in t for t in seen)
    connector.links[1].read({"type": "reconnect", "within_seconds": 10})  # this one completes
    until(events, Connected)
    connector.links[2].read(filing(2), HEARTBEAT)
    seen = [getattr(e, "text", "") for e in upto(events, BacklogComplete)]
    for _ in range(20):  # the old one's close is answered at once (FakeLink)
        if any("connection #2 closed after the switch" in t for t in seen):
            break
        seen.append(getattr(next(events), "text", ""))
    assert any("connection #2 closed after the switch" in t for t in seen)


def test_the_status_line_learns_of_heartbeats_and_of_a_lost_connection() -> None:
    stream, connector, events = start()
    assert stream.stats.last_heartbeat is None
    connector.links[0].read(filing(1), HEARTBEAT)
    until(events, BacklogComplete)
    assert stream.stats.last_heartbeat is not None
    stream.backoff = lambda: 60.0  # a wait to look at
    connector.links[0].drop()
    until(events, Disconnected)
    assert isinstance(next(events), Idle)  # waiting out the backoff, a slice at a time
    assert stream.stats.state == "waiting"
    assert stream.stats.cause is not None and "connection lost" in stream.stats.cause
    assert stream.stats.retry_at is not None and stream.stats.retry_at > time.monotonic()


def test_without_heartbeats_a_backlog_ends_only_after_the_settle_time_of_quiet() -> None:
    _, connector, events = start(heartbeat=False, settle=60.0)
    connector.links[0].read(filing(1), filing(2))
    seen = [next(events) for _ in range(50)]  # idle steps of a millisecond: far from 60 s
    assert any(isinstance(e, NewFilings) for e in seen)
    assert not any(isinstance(e, BacklogComplete) for e in seen)
    _, connector, events = start(heartbeat=False, settle=0.0)
    connector.links[0].read(filing(1), filing(2))
    assert until(events, BacklogComplete) == BacklogComplete(True, 2, 0)
