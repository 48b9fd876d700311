"""Fault injection, for tests of clients: dropped TCP, stalls, server errors, malformed frames.

Configured by the hidden ``secfeed serve`` flags (``EmulatorConfig``'s fault fields); applied by
a session before each filing it writes (:func:`apply_faults`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .feed import ws_frame

if TYPE_CHECKING:
    from .server import EmulatorConfig, Session


class SessionEnds(Exception):
    """The session ends now (fault injection, or the client went away)."""


def json_frame(obj: dict[str, Any]) -> bytes:
    return ws_frame(json.dumps(obj, separators=(",", ":")).encode("utf-8"))


#: Malformed frames the emulator can interleave, cycled in this order: (name, frame bytes).
MALFORMED: list[tuple[str, bytes]] = [
    ("invalid-json", ws_frame(b'{"type": "fillings", "form": ')),
    ("invalid-utf8", ws_frame(b'{"type":"fillings","form":"\xff\xfe"}')),
    ("binary", ws_frame(b"\x00\x01\x02binary junk\xff", opcode=0x2)),
    ("json-array", ws_frame(b'[{"type":"fillings"}]')),
    ("json-string", ws_frame(b'"fillings"')),
    ("unknown-type", json_frame({"type": "subscribe_ack", "ok": True})),
    ("missing-field", json_frame({"type": "fillings", "is_historical": False, "form": "8-K"})),
    (
        "ill-typed",
        json_frame(
            {
                "type": "fillings",
                "is_historical": False,
                "discovered_time": "yesterday",
                "form": 8,
                "description": "x",
                "filling_date": "2026-01-12",
                "accepted_time": "2026-01-12T16:00:00Z",
                "accession_no": "0000000000-26-000000",
                "cik": "not a number",
            }
        ),
    ),
    ("huge", json_frame({"type": "fillings", "description": "x" * (2 << 20)})),
]


def has_faults(cfg: EmulatorConfig) -> bool:
    return bool(
        cfg.drop_after is not None
        or cfg.stall_after is not None
        or cfg.error_after is not None
        or cfg.malformed_every
    )


async def apply_faults(session: Session, chunk: bytearray, pending: int) -> None:
    """Apply the faults due before the next filing (a drop or stall ends the session)."""
    cfg = session.cfg
    total = session.sent + pending
    if cfg.drop_after is not None and total >= cfg.drop_after:
        await session.flush(chunk, pending)
        session.em.record("fault-drop", session.conn, str(session.sent))
        session.ws.transport.abort()
        raise SessionEnds
    if cfg.stall_after is not None and total >= cfg.stall_after:
        await session.flush(chunk, pending)
        session.em.record("fault-stall", session.conn, str(session.sent))
        await session.ws.wait_closed()
        raise SessionEnds
    if cfg.error_after is not None and total >= cfg.error_after:
        await session.flush(chunk, pending)
        session.em.record("fault-error", session.conn, str(session.sent))
        await session.write(json_frame({"type": "error", "message": "Internal server error"}))
        await session.ws.close(1011, "internal error")
        raise SessionEnds
    every = cfg.malformed_every
    if every and total and total % every == 0 and session.malformed < total // every:
        name, frame = MALFORMED[session.malformed % len(MALFORMED)]
        session.malformed += 1
        chunk += frame
        session.em.record("fault-malformed", session.conn, name)
