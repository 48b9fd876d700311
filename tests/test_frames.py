"""The frame reader: whole frames out of any split of the byte stream."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secfeed_cli.emulator.feed import ws_frame
from secfeed_cli.feed.frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_TEXT,
    DataFrame,
    FrameError,
    FrameReader,
    Skipped,
    client_frame,
)

pytestmark = pytest.mark.unit


def fragment(payload: bytes, sizes: list[int], opcode: int = OP_TEXT) -> bytes:
    """A message split into fragments (first with the opcode, then continuations)."""
    out, pos, first = b"", 0, True
    for i, size in enumerate(sizes):
        part = payload[pos : pos + size]
        pos += size
        fin = 0x80 if i == len(sizes) - 1 else 0
        op = opcode if first else 0
        first = False
        n = len(part)
        header = (
            struct.pack("!BB", fin | op, n) if n < 126 else struct.pack("!BBH", fin | op, 126, n)
        )
        out += header + part
    return out


PAYLOADS = [b"", b"x", b"a" * 125, b"b" * 126, b"c" * 65535, b"d" * 65536, b"e" * 200_000]


def read_all(reader: FrameReader, stream: bytes, cuts: list[int]) -> list[DataFrame]:
    out, last = [], 0
    for cut in sorted(set(c % (len(stream) + 1) for c in cuts)) + [len(stream)]:
        out += reader.feed(stream[last:cut])
        last = cut
    return out


@given(st.lists(st.integers(min_value=0, max_value=10**6), max_size=30))
def test_any_split_gives_the_same_frames(cuts: list[int]) -> None:
    stream = b"".join(ws_frame(p) for p in PAYLOADS) + ws_frame(b"ping!", OP_PING)
    stream += fragment(b"hello fragmented world", [5, 0, 10, 7])
    stream += ws_frame(b"\x00\xff", OP_BINARY) + ws_frame(b"\x03\xe8bye", OP_CLOSE)
    frames = read_all(FrameReader(max_size=1 << 20), stream, cuts)
    assert frames == [(OP_TEXT, p) for p in PAYLOADS] + [
        (OP_PING, b"ping!"),
        (OP_TEXT, b"hello fragmented world"),
        (OP_BINARY, b"\x00\xff"),
        (OP_CLOSE, b"\x03\xe8bye"),
    ]


@given(st.lists(st.integers(min_value=0, max_value=10**6), max_size=30))
def test_oversize_messages_are_skipped_not_buffered(cuts: list[int]) -> None:
    stream = ws_frame(b"small") + ws_frame(b"z" * 5000) + fragment(b"y" * 3000, [1000, 2000])
    stream += ws_frame(b"after")
    reader = FrameReader(max_size=1000)
    frames = read_all(reader, stream, cuts)
    assert frames == [
        (OP_TEXT, b"small"),
        Skipped(5000),
        Skipped(3000),
        (OP_TEXT, b"after"),
    ]
    assert len(reader._buf) == 0


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\x81\x85abcdhello", "masked"),
        (b"\xc1\x01x", "reserved"),
        (b"\x80\x01x", "continuation"),
        (b"\x83\x01x", "opcode"),
        (b"\x09\x01x", "control"),
        (b"\x01\x01a\x81\x01b", "inside"),
        (b"\x81\x7f\x80" + bytes(7), "most significant bit"),
        (b"\x81\x7f" + (64 << 20 | 1).to_bytes(8, "big"), "more than 64 MiB"),
        (
            b"\x02\x7f"
            + (40 << 20).to_bytes(8, "big")
            + bytes(40 << 20)
            + b"\x00\x7f"
            + (30 << 20).to_bytes(8, "big"),
            "over 64 MiB",
        ),
    ],
)
def test_invalid_framing_breaks_the_stream_after_the_frames_before_it(
    data: bytes, why: str
) -> None:
    reader = FrameReader()
    before = b"\x81\x02ok"
    frames = reader.feed(before + data[:1])
    frames += reader.feed(data[1:])
    assert frames == [(OP_TEXT, b"ok")]
    assert isinstance(reader.error, FrameError) and why in str(reader.error)
    assert reader.feed(b"\x81\x02ok") == []  # nothing after the break


def test_a_64_mib_frame_is_still_skipped_not_fatal() -> None:
    reader = FrameReader(max_size=1 << 20)
    size = 64 << 20
    frames = reader.feed(b"\x81\x7f" + size.to_bytes(8, "big") + bytes(1000))
    frames += reader.feed(bytes(size - 1000) + b"\x81\x02ok")
    assert frames == [Skipped(size), (OP_TEXT, b"ok")]
    assert reader.error is None


@given(
    st.sampled_from([0, 1, 125, 126, 127, 65535, 65536, 70000]).flatmap(
        lambda n: st.binary(min_size=n, max_size=n)
    ),
    st.binary(min_size=4, max_size=4),
    st.sampled_from([OP_TEXT, OP_CLOSE, 0xA]),
)
def test_client_frames_are_masked_as_websocket_client_masks_them(
    payload: bytes, mask: bytes, opcode: int
) -> None:
    # websocket-client's encoder is an independent implementation of RFC 6455 section 5.3:
    # with the same masking key, the bytes on the wire must be the same (all three lengths).
    import websocket

    theirs = websocket.ABNF(1, 0, 0, 0, opcode, 1, payload)
    theirs.get_mask_key = lambda _n: mask
    assert client_frame(opcode, payload, mask) == theirs.format()


def test_client_frames_get_a_fresh_masking_key_each() -> None:
    keys = {client_frame(OP_TEXT, b"{}")[2:6] for _ in range(8)}
    assert len(keys) > 1


def test_read_gives_whole_text_frames_as_bare_payloads() -> None:
    reader = FrameReader()
    assert reader.read(ws_frame(b'{"a":1}') + ws_frame(b"x" * 300)) == [b'{"a":1}', b"x" * 300]
    assert reader.all_text
    mixed = reader.read(ws_frame(b"hi") + ws_frame(b"p", OP_PING) + ws_frame(b"\x00", OP_BINARY))
    assert mixed == [b"hi", (OP_PING, b"p"), (OP_BINARY, b"\x00")] and not reader.all_text


def test_a_long_frames_header_split_anywhere_is_waited_for() -> None:
    """The 64-bit length of a frame over 65,535 bytes may arrive a byte at a time."""
    payload = b"x" * 70_000
    data = b"\x81\x7f" + len(payload).to_bytes(8, "big") + payload + b"\x81\x02ok"
    for cut in range(1, 12):
        reader = FrameReader()
        frames = reader.feed(data[:cut])
        assert frames == [] and reader.error is None, cut
        frames += reader.feed(data[cut:])
        assert frames == [(OP_TEXT, payload), (OP_TEXT, b"ok")], cut


def test_a_fragmented_message_may_declare_up_to_64_mib_but_not_beyond() -> None:
    limit = 64 << 20  # the documented limit: a larger declaration is a broken peer
    first = b"\x01\x0a" + b"0123456789"  # a text frame, not final, 10 bytes
    for rest, broken in ((limit - 10, False), (limit - 9, True)):
        reader = FrameReader(max_size=1 << 20)
        reader.feed(first + b"\x80\x7f" + rest.to_bytes(8, "big"))
        assert (reader.error is not None) is broken, rest


def test_a_filing_sized_frame_inside_a_fragmented_message_breaks_the_stream() -> None:
    """The fast path for whole text frames of 126 to 65,535 bytes is not taken while a
    fragmented message is open: such a frame there is a broken peer, as any other would be."""
    reader = FrameReader(max_size=1 << 20)
    data = b"\x01\x02ab" + b"\x81\x7e" + (130).to_bytes(2, "big") + b"x" * 130
    assert reader.feed(data) == []
    assert isinstance(reader.error, FrameError)
    assert "new message inside a fragmented one" in str(reader.error)


@pytest.mark.parametrize("size", [0, 1, 5, 125, 126, 127, 65_535, 65_536, 70_001])
def test_client_frames_of_every_length_class_match_an_independent_encoder(size: int) -> None:
    import websocket

    payload = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    mask = b"\x12\x34\x56\x78"
    theirs = websocket.ABNF(1, 0, 0, 0, OP_TEXT, 1, payload)
    theirs.get_mask_key = lambda _n: mask
    ours = client_frame(OP_TEXT, payload, mask)
    assert ours == theirs.format()
    assert len(client_frame(OP_TEXT, payload)) == len(ours)  # a random key: the same length


def test_the_opcodes_are_rfc_6455s() -> None:
    from secfeed_cli.feed import frames

    assert (frames.OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, frames.OP_PONG) == (
        0x0,
        0x1,
        0x2,
        0x8,
        0x9,
        0xA,
    )


def test_a_skipped_message_is_equal_by_its_size_only() -> None:
    assert Skipped(5) == Skipped(5) and Skipped(5) != Skipped(6) and Skipped(5) != 5
    assert hash(Skipped(5)) == hash(Skipped(5)) != hash(5)
    assert len({Skipped(5), Skipped(5), Skipped(6)}) == 2
    assert repr(Skipped(5)) == "Skipped(5)"


def test_the_default_limit_is_one_mib_a_message() -> None:
    reader = FrameReader()
    mib = 1 << 20
    assert reader.feed(ws_frame(b"x" * mib)) == [(OP_TEXT, b"x" * mib)]
    assert reader.feed(ws_frame(b"x" * (mib + 1))) == [Skipped(mib + 1)]


def test_all_text_says_what_the_last_read_held_and_a_break_is_not_text() -> None:
    reader = FrameReader()
    reader.read(ws_frame(b"p", OP_PING))
    assert not reader.all_text
    reader.read(ws_frame(b"x" * 200) + ws_frame(b"a"))
    assert reader.all_text  # the next read starts over
    reader.read(ws_frame(b"a") + b"\x83\x00")  # a reserved opcode after a text frame
    assert reader.error is not None and not reader.all_text


def test_a_filing_sized_frame_in_the_read_after_a_fragment_opened_breaks_the_stream() -> None:
    reader = FrameReader()
    assert reader.feed(b"\x01\x02ab") == []  # a text message opened, not final
    assert reader.feed(b"\x81\x7e" + (130).to_bytes(2, "big") + b"x" * 130) == []
    assert "new message inside a fragmented one" in str(reader.error)


def test_a_long_header_split_after_other_frames_is_waited_for() -> None:
    payload = b"y" * 70_000
    data = ws_frame(b"first") + b"\x81\x7f" + len(payload).to_bytes(8, "big") + payload
    for cut in range(8, 17):  # inside the second frame's 10-byte header
        reader = FrameReader()
        frames = reader.feed(data[:cut]) + reader.feed(data[cut:])
        assert frames == [(OP_TEXT, b"first"), (OP_TEXT, payload)], cut


def test_a_text_frame_of_exactly_the_limit_is_whole_text() -> None:
    reader = FrameReader(max_size=10)
    assert reader.read(ws_frame(b"0123456789")) == [b"0123456789"] and reader.all_text
    assert reader.read(ws_frame(b"0123456789a")) == [Skipped(11)]


@pytest.mark.parametrize("opcode", [OP_BINARY, OP_CLOSE, 0xA])
def test_client_frames_of_even_opcodes_and_every_length_class(opcode: int) -> None:
    import websocket

    for size in (5, 200, 70_000):
        payload = b"z" * size
        theirs = websocket.ABNF(1, 0, 0, 0, opcode, 1, payload)
        theirs.get_mask_key = lambda _n: b"\x01\x02\x03\x04"
        assert client_frame(opcode, payload, b"\x01\x02\x03\x04") == theirs.format(), size


def test_a_break_before_any_other_frame_is_not_text() -> None:
    reader = FrameReader()
    assert reader.read(ws_frame(b"x" * 200) + b"\x81\x80") == [b"x" * 200]  # then masked
    assert reader.error is not None and not reader.all_text


def test_control_frames_of_125_bytes_and_split_across_reads() -> None:
    reader = FrameReader()
    ping = ws_frame(b"p" * 125, OP_PING)
    assert reader.feed(ping[:60]) == []
    assert reader.feed(ping[60:] + ws_frame(b"a")) == [(OP_PING, b"p" * 125), (OP_TEXT, b"a")]
    reader.feed(ws_frame(b"p" * 126, OP_PING))
    assert "invalid control frame" in str(reader.error)


def test_a_binary_message_of_exactly_the_limit_is_kept() -> None:
    reader = FrameReader(max_size=300)
    assert reader.feed(ws_frame(b"b" * 300, OP_BINARY)) == [(OP_BINARY, b"b" * 300)]
    assert reader.feed(ws_frame(b"b" * 301, OP_BINARY)) == [Skipped(301)]


# mutant: equivalent: secfeed_cli/feed/frames.py:34 128 | 127 and 129 | 127 are both 255, and
# 129 | opcode is 128 | opcode for the odd opcodes; :35 a longer mask stream is cut at n.
# mutant: equivalent: secfeed_cli/feed/frames.py:35 (the same line, its other operand).
# mutant: equivalent: secfeed_cli/feed/frames.py:57 the tag inside Skipped's hash: equal
# objects hash alike with any tag.
# mutant: equivalent: secfeed_cli/feed/frames.py:161 a 64-bit length read from too few bytes
# is smaller than the real one: the frame waits, and the next read parses its header again.
# mutant: equivalent: secfeed_cli/feed/frames.py:192 _data returns a position past a header,
# never 0, or -1.
# mutant: equivalent: secfeed_cli/feed/frames.py:222 any negative "need more" is read alike.
# mutant: equivalent: secfeed_cli/feed/frames.py:228 fragments kept while a message is skipped
# are never read (a skipped message ends as Skipped, and the next one starts a new list).
# mutant: equivalent: secfeed_cli/feed/frames.py:230 a frame that ends exactly at the end of
# the data leaves nothing to skip either way.
# mutant: equivalent: secfeed_cli/feed/frames.py:246 the length after a message ends: the next
# message sets it before it is read.
# mutant: equivalent: secfeed_cli/feed/frames.py:156 waiting for a fifth byte of a frame whose
# 16-bit length makes it at least 130 bytes long: it waits for more either way.
# mutant: equivalent: secfeed_cli/feed/frames.py:95 the first _frag_len, set before it is read.
# mutant: equivalent: secfeed_cli/feed/frames.py:97 the first all_text, set by every read.
# mutant: equivalent: secfeed_cli/feed/frames.py:124 a skip ending exactly at the end of the
# data (`<` drops the empty rest the same way).
# mutant: equivalent: secfeed_cli/feed/frames.py:140 the fast path's bound (`<`, 4 or 5 bytes):
# a frame it declines goes to the general path, which reads it the same.
# mutant: equivalent: secfeed_cli/feed/frames.py:143 likewise for a frame ending at the
# buffer's end or of exactly the limit.
