"""What a connection is to the stream: its options, the :class:`Link` protocol, the records it
hands on (:class:`Texts`, :class:`Frames`, then one :class:`Closed`), and the ``Connector`` that
opens one. Plain types, no I/O: the stream's state machine is tested with links of its own.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import Protocol

import msgspec

from ..errors import DEFAULT_URL
from .frames import DataFrame


class ConnectOptions(msgspec.Struct):
    url: str = DEFAULT_URL
    api_key: str | None = None
    key_in: str = "header"  # or "query"
    heartbeat: bool = True
    stall_timeout: float = 5.0
    reconnect: bool = True
    max_retries: int | None = None
    connect_timeout: float = 10.0
    ca_bundle: str | None = None
    proxy: str | None = None
    max_frame: int = 1 << 20
    dedupe_size: int = 250_000
    queue_batches: int = 64
    #: time.monotonic() by which the caller gives up (snapshot --timeout): the run ends there,
    #: and no handshake or backoff runs past it.
    deadline: float | None = None
    #: -v: the handshake's lines and each connection's traffic, as curl -v shows them
    trace: bool = False


# ---- what a connection hands the stream ------------------------------------------------------


class Link(Protocol):
    """What the stream needs of a connection (a :class:`Connection`, or a test's stand-in)."""

    conn: int

    @property
    def closing(self) -> bool:
        """We are closing it (its end is then not a reason to reconnect)."""

    @property
    def last_frame(self) -> float:
        """time.monotonic() of the last complete frame."""

    opened: float  # time.monotonic() of the upgrade
    bytes_in: int  # bytes read (the -v summary)
    frames_in: int  # whole frames read

    def send_text(self, text: str) -> None: ...

    def close(self, abort: bool = False) -> None: ...

    def join(self, timeout: float) -> bool: ...

    def read_direct(self) -> list[Item] | None:
        """Read once in the caller's thread (see :meth:`Connection.read_direct`); None: what
        this connection reads comes through the queue."""
        ...


class Texts(msgspec.Struct):
    """Whole text frames only, from one socket read (the usual case)."""

    link: Link
    frames: list[bytes]
    received: float  # time.time() when the bytes were read


class Frames(msgspec.Struct):
    """Data frames of one socket read that are not all plain text: ``(opcode, payload)``."""

    link: Link
    batch: list[DataFrame]
    received: float


class Closed(msgspec.Struct):
    """The connection ended; always its last record."""

    link: Link
    reason: str


Item = Texts | Frames | Closed
Outbox = queue.Queue[Item]
#: Opens connection number ``conn`` whose reader feeds ``out``; raises on failure (HandshakeError
#: or OSError: worth a retry; AuthRejected or ConnectFailed: not).
Connector = Callable[[int, Outbox], Link]
