"""The link state machine (feed/linkstate.py): bytes and the time in, frames, replies and the
end out. No socket, no thread, no clock: each case runs in microseconds."""

from __future__ import annotations

import pytest

from secfeed_cli.feed.frames import OP_BINARY, OP_TEXT, Skipped
from secfeed_cli.feed.linkstate import LinkState

from .rawserver import close_frame, frame

pytestmark = pytest.mark.unit

PING = 0x9


def link(read_timeout: float = 5.0, max_frame: int = 1 << 20) -> LinkState:
    return LinkState(max_frame, read_timeout, now=100.0)


def test_text_frames_take_the_fast_path() -> None:
    step = link().received(frame("a") + frame("b"), 100.5)
    assert step.texts == [b"a", b"b"] and step.frames == 2
    assert step.ended is None and not step.pongs and not step.answer_close


def test_a_ping_is_answered_with_its_payload_and_data_keeps_its_order() -> None:
    step = link().received(frame("a") + frame(b"p1", PING) + frame(b"\x00", OP_BINARY), 101)
    assert step.texts is None
    assert step.batch == [(OP_TEXT, b"a"), (OP_BINARY, b"\x00")]
    assert step.pongs == [b"p1"] and step.ended is None


def test_the_watchdog_counts_whole_frames_not_bytes() -> None:
    state = link(read_timeout=5.0)
    assert state.received(frame("a"), 100.0).texts == [b"a"]
    whole = frame("trickled")
    for i, byte in enumerate(whole[:-1]):  # a byte a second: never a whole frame
        assert state.received(bytes([byte]), 101.0 + i).frames == 0
    assert state.overdue(104.9) is None
    assert state.overdue(105.0) == "no complete frame for 5 s (stalled)"


def test_reading_again_after_our_own_output_held_us_is_not_a_stall() -> None:
    state = link(read_timeout=5.0)
    state.resumed(130.0)  # the output blocked us for half a minute
    assert state.overdue(131.0) is None


def test_the_server_closing_first_is_answered_and_ends_the_link() -> None:
    state = link()
    step = state.received(frame("a") + close_frame(1001, "going away") + frame("late"), 101)
    assert step.batch == [(OP_TEXT, b"a")] and step.answer_close
    assert step.ended == "closed by server (1001 going away)"


def test_our_close_waits_for_the_reply_until_its_deadline_only() -> None:
    state = link()
    state.close(now=200.0, wait=0.1)
    assert not state.due(200.05) and state.due(200.1)
    assert state.overdue(200.1) == "closed"
    step = state.received(close_frame(), 200.05)  # the reply: not answered again
    assert step.ended == "closed by server (1000)" and not step.answer_close
    assert state.lost("connection dropped (no close frame)") == "closed"


def test_a_protocol_error_ends_after_the_frames_before_it() -> None:
    bad = bytes([0x80 | 0x3, 0])  # a reserved opcode
    step = link().received(frame("a") + bad, 101)
    assert step.batch == [(OP_TEXT, b"a")]
    assert step.ended is not None and step.ended.startswith("protocol error:")


def test_an_oversized_frame_is_reported_not_kept() -> None:
    step = link(max_frame=10).received(frame("x" * 50) + frame("ok"), 101)
    assert step.batch == [Skipped(50), (OP_TEXT, b"ok")]


def test_broken_framing_before_any_frame_ends_the_link_with_the_reason() -> None:
    step = link().received(b"\x83\x00", 100.5)  # opcode 3 is reserved
    assert step.frames == 0 and step.texts is None and not step.batch
    assert not step.answer_close and not step.pongs  # no close came: none to answer
    assert step.ended is not None and step.ended.startswith("protocol error: ")
    assert "opcode" in step.ended


# -- the Step contract with connection.py, path by path ------------------------------------


def test_a_read_with_only_a_ping_answers_it_and_nothing_else() -> None:
    step = link().received(frame(b"hb", PING), 101)
    assert step == (None, [], [b"hb"], False, None, 1)


def test_pongs_are_kept_when_a_close_comes_in_the_same_read() -> None:
    step = link().received(frame(b"p1", PING) + close_frame(1000) + frame(b"p2", PING), 101)
    assert step.pongs == [b"p1"] and step.answer_close and step.batch == []
    assert step.ended == "closed by server (1000)"


def test_every_whole_frame_read_is_counted_on_every_path() -> None:
    assert link().received(frame("a") + frame("b") + frame("c"), 101).frames == 3  # texts only
    mixed = link().received(frame("a") + frame(b"p", PING) + frame(b"\x01", OP_BINARY), 101)
    assert mixed.frames == 3
    closing = link().received(frame("a") + close_frame(1000) + frame("late"), 101)
    assert closing.frames == 3 and closing.batch == [(OP_TEXT, b"a")]
    broken = link().received(frame("a") + frame(b"p", PING) + bytes([0x83, 0]), 101)
    assert broken.frames == 2 and broken.ended is not None
    assert link().received(frame("abc")[:2], 101).frames == 0  # half a frame


def test_each_whole_frame_restarts_the_stall_watchdog() -> None:
    state = link(read_timeout=5.0)  # opened at 100.0
    assert state.received(frame("a"), 104.0).frames == 1
    assert state.overdue(108.9) is None  # 4.9 s after the frame, not 8.9 after the start
    assert state.overdue(109.0) == "no complete frame for 5 s (stalled)"
    state.received(frame(b"p", PING) + frame(b"\x00", OP_BINARY), 110.0)  # not only texts
    assert state.overdue(114.9) is None


# mutant: equivalent: secfeed_cli/feed/linkstate.py:52 close_by's first value is never read
# (due() reads it only once closing, and close() sets both); :65 is the type named in a cast,
# which does nothing at run time.
def test_a_link_that_never_sends_a_frame_is_stalled_from_its_start() -> None:
    state = link(read_timeout=5.0)  # opened at 100.0
    assert state.overdue(104.99) is None
    assert state.overdue(105.0) == "no complete frame for 5 s (stalled)"
    assert state.received(b"\x81", 104.0) == (None, [], [], False, None, 0)  # a byte: no frame
    assert state.overdue(105.0) is not None


def test_a_lost_link_keeps_its_reason_unless_we_were_closing_it() -> None:
    state = link()
    assert state.lost("connection reset") == "connection reset"
    state.close(now=101.0, wait=1.0)
    assert state.lost("connection reset") == "closed"
    state.close(now=500.0, wait=1.0)  # a second close keeps the first deadline
    assert state.due(102.0) and not state.due(101.5)


@pytest.mark.parametrize(
    ("payload", "said"),
    [
        (b"", "closed by server (no status code)"),
        (b"\x03", "closed by server (no status code)"),
        ((1000).to_bytes(2, "big"), "closed by server (1000)"),
        (
            (1008).to_bytes(2, "big") + b"bad \xff\xfe key",
            "closed by server (1008 bad \ufffd\ufffd key)",
        ),
    ],
)
def test_close_payloads_of_every_size_and_encoding_are_said(payload: bytes, said: str) -> None:
    step = link().received(frame(payload, 0x8), 101)
    assert step.ended == said and step.answer_close and step.frames == 1
