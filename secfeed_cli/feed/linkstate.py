"""The WebSocket link as a state machine: bytes and the time in; frames, replies and "ended:
why" out. Pure: no socket, no thread, no clock of its own (``connection.py`` drives it), so the
stall watchdog, pongs, the close handshake and its deadline are tested in microseconds
(``tests/test_linkstate.py``), as python-websockets splits its ``Protocol`` from its I/O.
"""

from __future__ import annotations

import math
from typing import NamedTuple, cast

from .frames import OP_BINARY, OP_CLOSE, OP_PING, OP_TEXT, DataFrame, FrameReader, Skipped


class Step(NamedTuple):
    """What one read made. ``texts``: whole text frames only (the usual case, handed on
    without a look); else ``batch``, the data frames in order. ``pongs``: ping payloads to
    answer; ``answer_close``: the server closed first, reply to it; ``ended``: why the link is
    over after these frames (None: it goes on)."""

    texts: list[bytes] | None
    batch: list[DataFrame]
    pongs: list[bytes]
    answer_close: bool
    ended: str | None
    frames: int  # whole frames read


NOTHING = Step(None, [], [], False, None, 0)


def close_reason(payload: bytes) -> str:
    """The server's close frame in words: its status code and reason (a payload too short for
    a code has none; a reason that is not UTF-8 is shown with replacement characters)."""
    if len(payload) < 2:
        return "closed by server (no status code)"
    code = int.from_bytes(payload[:2], "big")
    text = payload[2:].decode("utf-8", "replace")
    return f"closed by server ({code}{' ' + text if text else ''})"


class LinkState:
    """One link's framing and clocks. ``read_timeout``: no *complete* frame for that long is a
    stalled link (bytes that never make a frame do not count); ``now`` values are
    time.monotonic()."""

    def __init__(self, max_frame: int, read_timeout: float, now: float) -> None:
        self.reader = FrameReader(max_frame)
        self.read_timeout = read_timeout
        self.last_frame = now
        self.closing = False
        self.close_by = math.inf  # once closing: when to stop waiting for the server's reply

    def received(self, data: bytes, now: float) -> Step:
        """Frame what arrived; a step with no frames, no end and no replies is silence (see
        :meth:`overdue`)."""
        reader = self.reader
        frames = reader.read(data)
        if not frames:  # bytes, but no complete frame: a trickle is still a stall
            if reader.error is not None:
                return Step(None, [], [], False, f"protocol error: {reader.error}", 0)
            return NOTHING
        self.last_frame = now
        if reader.all_text:
            return Step(cast("list[bytes]", frames), [], [], False, None, len(frames))
        batch: list[DataFrame] = []
        pongs: list[bytes] = []
        for frame in frames:
            if isinstance(frame, bytes):  # a whole text frame
                batch.append((OP_TEXT, frame))
                continue
            if isinstance(frame, Skipped):
                batch.append(frame)
                continue
            opcode, payload = frame
            if opcode == OP_PING:
                pongs.append(payload)
            elif opcode == OP_CLOSE:  # what follows a close is not read
                return Step(
                    None, batch, pongs, not self.closing, close_reason(payload), len(frames)
                )
            elif opcode in (OP_TEXT, OP_BINARY):
                batch.append((opcode, payload))
        ended = None if reader.error is None else f"protocol error: {reader.error}"
        return Step(None, batch, pongs, False, ended, len(frames))

    def close(self, now: float, wait: float) -> None:
        """We close: the server's reply is waited for until ``now + wait``."""
        if not self.closing:
            self.closing = True
            self.close_by = now + wait

    def due(self, now: float) -> bool:
        """Closing, and the wait for the server's reply is over (checked before every read:
        a peer that keeps sending must not keep a closing link alive)."""
        return self.closing and now >= self.close_by

    def overdue(self, now: float) -> str | None:
        """After a read with no whole frame: why to stop now, if a clock ran out."""
        if self.due(now):
            return "closed"
        if now - self.last_frame >= self.read_timeout:
            return f"no complete frame for {self.read_timeout:g} s (stalled)"
        return None

    def lost(self, reason: str) -> str:
        """Why the link went: just "closed" once we were closing it ourselves."""
        return "closed" if self.closing else reason

    def resumed(self, now: float) -> None:
        """Reading resumes after waiting for our own output: that wait was not the server's
        silence, so the stall watchdog starts again."""
        self.last_frame = now
