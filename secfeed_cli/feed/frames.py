"""WebSocket frames from the server, parsed from raw socket bytes (RFC 6455 section 5).

The connection is our own (``handshake.py``, ``connection.py``); reading goes through this parser
because per-frame overhead decides how fast a backlog burst drains: one ``recv`` of 64 KiB yields
hundreds of frames here instead of several system calls each. Pure: bytes in, frames out (and
:func:`client_frame`, the masked frames a client sends).
"""

from __future__ import annotations

import os
import struct

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
#: A declared length beyond this is not a frame worth skipping but a broken or hostile peer:
#: the connection fails instead of discarding bytes for ever.
MAX_DECLARED = 64 << 20
#: The first two bytes of a frame and the 16-bit length after them (``0x817E``: final text
#: frame, unmasked, 126 to 65535 bytes).
_TEXT_HEAD = struct.Struct(">HH").unpack_from


def client_frame(opcode: int, payload: bytes, mask: bytes | None = None) -> bytes:
    """One final frame as a client must send it: masked with a fresh random key (RFC 6455
    section 5.3). Our own ten lines rather than websocket-client's encoder: importing that
    package cost every run ~20 ms of start-up for the hello alone."""
    key = os.urandom(4) if mask is None else mask
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 1 << 16:
        head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    stream = (key * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")
    return head + key + masked


class FrameError(Exception):
    """The byte stream is not valid WebSocket framing; the connection cannot continue."""


class Skipped:
    """A data message larger than the reader's limit: skipped without being buffered, and
    reported once, by its size, where the message would have been."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        self.size = size

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Skipped) and other.size == self.size

    def __hash__(self) -> int:
        return hash(("Skipped", self.size))

    def __repr__(self) -> str:
        return f"Skipped({self.size})"


#: A data message as the link hands it on: ``(opcode, payload)`` or :class:`Skipped`.
DataFrame = tuple[int, bytes] | Skipped

#: A complete frame as :meth:`FrameReader.read` returns it: a whole text frame is its payload
#: alone (the usual case: no pair to build for each), any other ``(opcode, payload)``, and a
#: message over the limit :class:`Skipped`.
Frame = bytes | tuple[int, bytes] | Skipped


def as_pairs(frames: list[Frame]) -> list[DataFrame]:
    """Frames as :meth:`FrameReader.read` gives them, each text frame as an ``(OP_TEXT,
    payload)`` pair."""
    return [(OP_TEXT, f) if isinstance(f, bytes) else f for f in frames]


class FrameReader:
    """Incremental parser: :meth:`read` takes bytes, returns the complete frames (:data:`Frame`);
    :meth:`feed` the same as ``(opcode, payload)`` pairs.

    Data messages come out whole (fragments are joined). A message larger than ``max_size`` is
    skipped without being buffered and reported once as :class:`Skipped`.
    ``all_text`` says whether the last :meth:`read` returned whole unfragmented text frames
    only, all bare payloads (the usual case, which the caller can hand on as a batch without
    looking at each).
    """

    def __init__(self, max_size: int = 1 << 20) -> None:
        self.max_size = max_size
        self._buf = b""
        self._skip = 0
        self._frag_op: int | None = None
        self._frag: list[bytes] = []
        self._frag_len = 0
        self._frag_skip = False
        self.all_text = True
        #: Set when the stream broke: :meth:`feed` returned the frames before the break.
        self.error: FrameError | None = None

    def feed(self, data: bytes) -> list[DataFrame]:
        """:meth:`read`, every frame but a skipped one as an ``(opcode, payload)`` pair."""
        return as_pairs(self.read(data))

    def read(self, data: bytes) -> list[Frame]:
        """The complete frames in what has arrived so far.

        When the framing breaks, the frames before the break are returned and :attr:`error`
        says what broke; the connection cannot continue after that.
        """
        out: list[Frame] = []
        try:
            self._feed(data, out)
        except FrameError as exc:
            self.error = exc
            self.all_text = False
        return out

    def _feed(self, data: bytes, out: list[Frame]) -> None:
        if self.error is not None:
            raise self.error
        self.all_text = True
        if self._skip:
            if len(data) <= self._skip:
                self._skip -= len(data)
                return
            data = data[self._skip :]
            self._skip = 0
        # Immutable bytes: slicing a frame out is then a single copy.
        buf = self._buf + data if self._buf else data
        n = len(buf)
        pos = 0
        max_size = self.max_size
        whole = self._frag_op is None  # no fragmented message is open
        append = out.append
        while True:
            if whole:
                # The hot path: whole text frames of 126 to 65535 bytes (filings), their
                # header read in one unpack; anything else leaves it for the general one.
                while pos <= n - 4:
                    marker, length = _TEXT_HEAD(buf, pos)
                    end = pos + 4 + length
                    if marker != 0x817E or end > n or length > max_size:
                        break
                    append(buf[pos + 4 : end])
                    pos = end
            if n - pos < 2:
                break
            b0 = buf[pos]
            length = buf[pos + 1]
            if length & 0x80:
                raise FrameError("the server sent a masked frame")
            length &= 0x7F
            head = 2
            if length == 126:
                if n - pos < 4:
                    break
                length = (buf[pos + 2] << 8) | buf[pos + 3]
                head = 4
            elif length == 127:
                if n - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 10
                if length >> 63:
                    raise FrameError("64-bit frame length with the most significant bit set")
            if length > MAX_DECLARED:
                raise FrameError(f"frame of {length} bytes declared (more than 64 MiB)")
            opcode = b0 & 0x0F
            fin = b0 & 0x80
            if b0 & 0x70:
                raise FrameError("the server set reserved bits (no extension was negotiated)")
            start = pos + head
            end = start + length
            if b0 == 0x81 and length <= max_size and self._frag_op is None:
                if end > n:
                    break
                out.append(buf[start:end])  # any other whole text frame
                pos = end
                continue
            self.all_text = False
            if opcode >= 0x8:
                if length > 125 or not fin:
                    raise FrameError("invalid control frame")
                if end > n:
                    break
                out.append((opcode, buf[start:end]))
                pos = end
                continue
            pos = self._data(opcode, fin, buf, start, end, length, out)
            whole = self._frag_op is None
            if pos < 0:
                pos = start - head
                break
        self._buf = buf[pos:]

    def _data(
        self,
        opcode: int,
        fin: int,
        buf: bytes,
        start: int,
        end: int,
        length: int,
        out: list[Frame],
    ) -> int:
        """Binary, oversize and fragmented frames: the new position, or -1 for 'need more'."""
        if opcode == OP_CONT:
            if self._frag_op is None:
                raise FrameError("continuation frame without a message to continue")
            total = self._frag_len + length
            if total > MAX_DECLARED:
                raise FrameError(f"fragmented message of over {MAX_DECLARED >> 20} MiB")
        elif opcode in (OP_TEXT, OP_BINARY):
            if self._frag_op is not None:
                raise FrameError("new message inside a fragmented one")
            total = length
        else:
            raise FrameError(f"unknown opcode {opcode:#x}")
        skipping = self._frag_skip or total > self.max_size
        if not skipping and end > len(buf):
            return -1  # wait for the whole frame; no state has changed
        if opcode != OP_CONT:
            self._frag_op, self._frag, self._frag_skip = opcode, [], False
        self._frag_len = total
        if skipping:
            self._frag_skip = True
            self._frag = []
            available = len(buf) - start
            if length > available:
                # Drop what is here and skip the rest of this frame as it arrives.
                self._skip = length - available
                end = len(buf)
        else:
            self._frag.append(bytes(buf[start:end]))
        if fin:
            self._finish(out)
        return end

    def _finish(self, out: list[Frame]) -> None:
        assert self._frag_op is not None
        if self._frag_skip:
            out.append(Skipped(self._frag_len))
        else:
            out.append((self._frag_op, b"".join(self._frag)))
        self._frag_op, self._frag, self._frag_len, self._frag_skip = None, [], 0, False
