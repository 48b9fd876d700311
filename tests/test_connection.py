"""The socket driver's own duties (feed/connection.py), with a socket that misbehaves on cue:
sends that time out a slice at a time, partial sends, a deadline that runs out. In-process,
no network: the link state machine and the real sockets have their own tests."""

from __future__ import annotations

import queue
import socket

import pytest

from secfeed_cli.feed.connection import Connection, request_target
from secfeed_cli.feed.frames import OP_CLOSE, OP_TEXT
from secfeed_cli.feed.handshake import Opened
from secfeed_cli.feed.links import ConnectOptions

pytestmark = pytest.mark.unit


class StubbornSocket:
    """Times out ``stalls`` sends, then takes at most ``bite`` bytes a send."""

    def __init__(self, stalls: int = 0, bite: int = 7, broken: bool = False) -> None:
        self.stalls = stalls
        self.bite = bite
        self.broken = broken
        self.sent = bytearray()
        self.shut = False

    def settimeout(self, timeout: float) -> None:
        pass

    def send(self, data: memoryview) -> int:
        if self.broken:
            raise ConnectionResetError("reset by peer")
        if self.stalls:
            self.stalls -= 1
            raise TimeoutError("timed out")
        taken = bytes(data[: self.bite])
        self.sent += taken
        return len(taken)

    def shutdown(self, how: int) -> None:
        assert how == socket.SHUT_RDWR
        self.shut = True


def connection(sock: StubbornSocket) -> Connection:
    opened = Opened(sock, b"")  # type: ignore[arg-type]  # a socket's send and nothing more
    return Connection(1, opened, queue.Queue(), ConnectOptions(url="ws://127.0.0.1:9"), print)


def unmasked(frame: bytes) -> tuple[int, bytes]:
    """(opcode, payload) of one short masked client frame."""
    assert frame[0] & 0x80 and frame[1] & 0x80  # final, masked
    n = frame[1] & 0x7F
    key, payload = frame[2:6], frame[6 : 6 + n]
    assert len(frame) == 6 + n
    return frame[0] & 0x0F, bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def test_a_send_goes_on_through_timed_out_slices_and_partial_sends_until_whole() -> None:
    sock = StubbornSocket(stalls=3, bite=5)
    connection(sock).send_text('{"type":"hello","heartbeat":true}')
    assert unmasked(bytes(sock.sent)) == (OP_TEXT, b'{"type":"hello","heartbeat":true}')


def test_a_send_blocked_past_its_deadline_fails() -> None:
    sock = StubbornSocket(stalls=10**9)
    with pytest.raises(TimeoutError):
        connection(sock)._send(OP_TEXT, b"x", 0.05)
    assert sock.sent == b""


def test_closing_sends_a_close_frame_or_cuts_a_socket_that_cannot_take_it() -> None:
    sock = StubbornSocket()
    link = connection(sock)
    assert link.closing is False
    link.close()
    assert link.closing is True and not sock.shut
    assert unmasked(bytes(sock.sent)) == (OP_CLOSE, (1000).to_bytes(2, "big"))
    broken = StubbornSocket(broken=True)
    link = connection(broken)
    link.close()
    assert link.closing is True and broken.shut


def test_the_key_goes_in_the_header_or_the_query_and_nowhere_else() -> None:
    url = "ws://127.0.0.1:9/feed"
    assert request_target(url, None, "header") == (url, [])
    assert request_target(url, "k3y", "header") == (url, ["Authorization: k3y"])
    assert request_target(url, "k 3/y&", "query") == (url + "?apikey=k+3%2Fy%26", [])
    assert request_target(url + "?a=1", "k3y", "query") == (url + "?a=1&apikey=k3y", [])


def test_join_waits_for_the_keeper_to_end() -> None:
    """A peer that never answers our close: the keeper gives up after CLOSE_WAIT, and join
    waits for that rather than report at once."""
    ours, theirs = socket.socketpair()
    try:
        link = Connection(1, Opened(ours, b""), queue.Queue(), ConnectOptions(url="ws://x"), print)
        link.start()
        link.close()
        assert link.join(30.0)
        assert not link.thread.is_alive()
        assert unmasked(theirs.recv(64)) == (OP_CLOSE, (1000).to_bytes(2, "big"))
    finally:
        ours.close()
        theirs.close()


@pytest.mark.parametrize(
    ("heartbeat", "quiet_ok", "stalled"), [(True, 4.9, 5.0), (False, 129, 130)]
)
def test_the_stall_watchdog_waits_5_s_with_heartbeats_and_130_s_without(
    heartbeat: bool, quiet_ok: float, stalled: float
) -> None:
    """With heartbeats (one a second when idle) 5 s of silence is a dead link; without them
    the server's own pings, every 60 s, are all there is: two missed ones, 130 s."""
    opts = ConnectOptions(url="ws://127.0.0.1:9", heartbeat=heartbeat)
    link = Connection(1, Opened(StubbornSocket(), b""), queue.Queue(), opts, print)  # type: ignore[arg-type]
    since = link.state.last_frame
    assert link.state.overdue(since + quiet_ok) is None
    assert link.state.overdue(since + stalled) == f"no complete frame for {stalled:g} s (stalled)"
