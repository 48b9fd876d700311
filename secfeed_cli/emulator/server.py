"""`secfeed serve`: a local emulator of the FinFeedAPI SEC WebSocket, built on ``websockets``.

What it does follows ``PROTOCOL.md``: the key on the upgrade request (rejected in-band with
``Invalid API key``), a backlog of recent filings (``is_historical: true``) then live ones, the
optional ``hello`` that turns on one-second heartbeats when idle, ``reconnect`` instructions, the
per-connection message buffer with its overflow error, and a WebSocket ping every minute. Fault
injection (dropped TCP, stalls, malformed frames) serves the client's tests.

Filing frames are encoded once when published and written to the transport in large chunks, so
the emulator can feed a client far faster than any client can read (``--firehose``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import json
import signal
import ssl
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import count
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from ..filing import format_time, parse_time
from ..protocol import ServerError
from .feed import Feed, Published, firehose_records, load_sample, publish_record, ws_frame

CHUNK = 1 << 16
EVENT_LOG = 10_000


@dataclass
class EmulatorConfig:
    host: str = "127.0.0.1"
    port: int = 0
    api_key: str | None = None
    backlog: int = 300
    speed: float = 1.0
    rate: float | None = None
    max_gap: float = 30.0
    reconnect_every: float | None = None
    reconnect_within: float = 10.0
    buffer: int = 131_072
    ping_interval: float | None = 60.0
    heartbeat_spelling: str = "heartbeat"
    firehose: int = 0
    sample_path: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    # Fault injection, for tests of clients.
    drop_after: int | None = None
    stall_after: int | None = None
    error_after: int | None = None
    malformed_every: int | None = None
    fault_connections: int | None = None
    refuse_after: int | None = None  # answer HTTP 503 to upgrades after this many


@dataclass(frozen=True)
class Event:
    name: str
    conn: int
    detail: str = ""


def _json_frame(obj: dict[str, Any]) -> bytes:
    return ws_frame(json.dumps(obj, separators=(",", ":")).encode("utf-8"))


#: Malformed frames the emulator can interleave, cycled in this order: (name, frame bytes).
MALFORMED: list[tuple[str, bytes]] = [
    ("invalid-json", ws_frame(b'{"type": "fillings", "form": ')),
    ("invalid-utf8", ws_frame(b'{"type":"fillings","form":"\xff\xfe"}')),
    ("binary", ws_frame(b"\x00\x01\x02binary junk\xff", opcode=0x2)),
    ("json-array", ws_frame(b'[{"type":"fillings"}]')),
    ("json-string", ws_frame(b'"fillings"')),
    ("unknown-type", _json_frame({"type": "subscribe_ack", "ok": True})),
    ("missing-field", _json_frame({"type": "fillings", "is_historical": False, "form": "8-K"})),
    (
        "ill-typed",
        _json_frame(
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
    ("huge", _json_frame({"type": "fillings", "description": "x" * (2 << 20)})),
]


class Emulator:
    """The server: one feed, one publisher task, a session per connection."""

    def __init__(self, config: EmulatorConfig, log: Callable[[Event], None] | None = None) -> None:
        self.config = config
        sample = load_sample(config.sample_path)
        self.feed = Feed(sample, history=max(config.backlog, 1))
        self.log = log
        # What happened, for tests and --verbose: bounded, so a long `secfeed serve` with many
        # connections does not grow for ever (the newest EVENT_LOG events are kept).
        self.events: deque[Event] = deque(maxlen=EVENT_LOG)
        self.changed = threading.Condition()
        self._ids = count(1)
        self._upgrades = 0
        self.port = 0
        self._firehose: list[bytes] = []
        self._firehose_chunks: list[bytes] = []
        self._server: Server | None = None

    @property
    def url(self) -> str:
        scheme = "wss" if self.config.certfile else "ws"
        return f"{scheme}://{self.config.host}:{self.port}"

    def record(self, name: str, conn: int, detail: str = "") -> None:
        event = Event(name, conn, detail)
        with self.changed:
            self.events.append(event)
            self.changed.notify_all()
        if self.log is not None:
            self.log(event)

    def wait_for(self, name: str, timeout: float = 10.0, conn: int | None = None) -> Event:
        """Block (in another thread) until an event of that name happened; for tests."""

        def found() -> Event | None:
            for event in self.events:
                if event.name == name and (conn is None or event.conn == conn):
                    return event
            return None

        with self.changed:
            if not self.changed.wait_for(lambda: found() is not None, timeout):
                raise TimeoutError(f"emulator event {name!r} did not happen in {timeout} s")
            result = found()
            assert result is not None
            return result

    def publish(self, n: int = 1) -> list[Published]:
        """Publish ``n`` filings now, from any thread (for tests and embedding)."""
        import concurrent.futures

        done: concurrent.futures.Future[list[Published]] = concurrent.futures.Future()

        def go() -> None:
            done.set_result([self.feed.publish_next() for _ in range(n)])

        self.loop.call_soon_threadsafe(go)
        return done.result(timeout=10)

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        cfg = self.config
        now = datetime.now(timezone.utc)
        # The starting backlog looks like a feed that has been running: one filing a second
        # up to now (the order is the sample's, oldest accepted first).
        for i in range(cfg.backlog):
            self.feed.publish_next(now - timedelta(seconds=cfg.backlog - i))
        if cfg.firehose:
            self._firehose = [
                publish_record(r, now).historical_frame
                for r in firehose_records(self.feed.sample, cfg.firehose)
            ]
            self._firehose_chunks = _chunks(self._firehose, CHUNK * 16)
        context = None
        if cfg.certfile:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cfg.certfile, cfg.keyfile)
        self._server = await serve(
            self._handle,
            cfg.host,
            cfg.port,
            process_request=self._refuse if cfg.refuse_after is not None else None,
            ssl=context,
            compression=None,
            ping_interval=cfg.ping_interval,
            ping_timeout=cfg.ping_interval,
            max_size=1 << 16,
            close_timeout=2,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._publisher = asyncio.create_task(self._publish_loop())

    async def close(self) -> None:
        self._publisher.cancel()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 3)

    async def _publish_loop(self) -> None:
        cfg = self.config
        loop = asyncio.get_running_loop()
        if cfg.rate is not None:
            if cfg.rate <= 0:
                return
            start, done = loop.time(), 0
            while True:
                due = int((loop.time() - start) * cfg.rate) - done
                for _ in range(due):
                    self.feed.publish_next()
                done += max(due, 0)
                await asyncio.sleep(max(0.0, start + (done + 1) / cfg.rate - loop.time()))
        if cfg.speed <= 0:
            return
        previous = self.feed.history[-1].record["accepted_time"] if self.feed.history else None
        while True:
            upcoming = self.feed.peek_next()["accepted_time"]
            gap = 0.0
            if previous is not None:
                delta = (parse_time(upcoming) - parse_time(previous)).total_seconds()
                gap = min(cfg.max_gap, max(0.0, delta) / cfg.speed)
            await asyncio.sleep(gap)
            previous = self.feed.publish_next().record["accepted_time"]

    def _refuse(self, ws: ServerConnection, request: Request) -> Response | None:
        self._upgrades += 1
        limit = self.config.refuse_after
        if limit is not None and self._upgrades > limit:
            self.record("refused", 0)
            return ws.respond(503, "Service Unavailable\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        conn = next(self._ids)
        self.record("connect", conn, str(ws.remote_address))
        try:
            if self.config.api_key is not None and not _authorized(ws.request, self.config.api_key):
                self.record("auth-rejected", conn)
                await ws.send(json.dumps({"type": "error", "message": ServerError.INVALID_KEY}))
                await ws.close(1008, "invalid API key")
                return
            await Session(self, ws, conn).run()
        finally:
            self.record("disconnect", conn)


class _Abort(Exception):
    """The session ends now (fault injection or the client went away)."""


class Session:
    """One client connection: backlog, then live filings from its outbox, plus heartbeats."""

    def __init__(self, emulator: Emulator, ws: ServerConnection, conn: int) -> None:
        self.em = emulator
        self.cfg = emulator.config
        self.ws = ws
        self.conn = conn
        self.outbox: deque[bytes] = deque()
        self.wake = asyncio.Event()
        self.overflowed = asyncio.Event()
        self.overflow = False
        self.heartbeat = False
        self.sent = 0
        limit = self.cfg.fault_connections
        self.faulty = limit is None or conn <= limit
        self._malformed = 0

    def offer(self, item: Published) -> None:
        if self.overflow:
            return
        if len(self.outbox) >= self.cfg.buffer:
            self.overflow = True
            self.outbox.clear()  # buffered messages are dropped, not resent
            self.overflowed.set()
        else:
            self.outbox.append(item.live_frame)
        self.wake.set()

    async def run(self) -> None:
        feed = self.em.feed
        backlog = [] if self.cfg.firehose else feed.backlog(self.cfg.backlog)
        feed.subscribers.add(self.offer)
        self.writer = asyncio.create_task(self._write_loop(backlog))
        tasks = [
            self.writer,
            asyncio.create_task(self._read_loop()),
        ]
        watch = asyncio.create_task(self._overflow_watch())
        tasks.append(watch)
        if self.cfg.reconnect_every:
            tasks.append(asyncio.create_task(self._reconnect_loop()))
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if self.overflow:  # the writer was cancelled for the overflow error: let it finish
                await watch
        finally:
            feed.subscribers.discard(self.offer)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.ws.state.name == "OPEN":
                with contextlib.suppress(Exception):
                    await self.ws.close()

    async def _write(self, data: bytes) -> None:
        transport = self.ws.transport
        if transport.is_closing():
            raise _Abort
        transport.write(data)
        await self.ws.drain()

    async def _send_filings(self, frames: Iterable[bytes]) -> None:
        """Write filing frames in large chunks, applying faults frame by frame."""
        faults = self.faulty and self._has_faults()
        chunk = bytearray()
        pending = 0  # filings in `chunk`; `sent` counts filings handed to the transport
        for frame in frames:
            if faults:
                await self._fault(chunk, pending)
            chunk += frame
            pending += 1
            if len(chunk) >= CHUNK:
                await self._flush(chunk, pending)
                pending = 0
        if chunk:
            await self._flush(chunk, pending)

    async def _flush(self, chunk: bytearray, filings: int) -> None:
        data = bytes(chunk)
        chunk.clear()
        self.sent += filings
        await self._write(data)

    async def _fault(self, chunk: bytearray, pending: int) -> None:
        """Apply the faults due before the next filing (a drop or stall ends the session)."""
        cfg = self.cfg
        total = self.sent + pending
        if cfg.drop_after is not None and total >= cfg.drop_after:
            await self._flush(chunk, pending)
            self.em.record("fault-drop", self.conn, str(self.sent))
            self.ws.transport.abort()
            raise _Abort
        if cfg.stall_after is not None and total >= cfg.stall_after:
            await self._flush(chunk, pending)
            self.em.record("fault-stall", self.conn, str(self.sent))
            await self.ws.wait_closed()
            raise _Abort
        if cfg.error_after is not None and total >= cfg.error_after:
            await self._flush(chunk, pending)
            self.em.record("fault-error", self.conn, str(self.sent))
            await self._write(_json_frame({"type": "error", "message": "Internal server error"}))
            await self.ws.close(1011, "internal error")
            raise _Abort
        every = cfg.malformed_every
        if every and total and total % every == 0 and self._malformed < total // every:
            name, frame = MALFORMED[self._malformed % len(MALFORMED)]
            self._malformed += 1
            chunk += frame
            self.em.record("fault-malformed", self.conn, name)

    async def _write_loop(self, backlog: list[Published]) -> None:
        try:
            if self.cfg.firehose and not (self.faulty and self._has_faults()):
                for blob in self.em._firehose_chunks:
                    await self._write(blob)
                self.sent += len(self.em._firehose)
            elif self.cfg.firehose:
                await self._send_filings(self.em._firehose)
            else:
                await self._send_filings(p.historical_frame for p in backlog)
            self.em.record("backlog-sent", self.conn, str(self.sent))
            while not self.overflow:
                if self.outbox:
                    await self._send_filings(self._drain_outbox())
                    continue
                self.wake.clear()
                try:
                    await asyncio.wait_for(self.wake.wait(), timeout=1.0)
                except asyncio.TimeoutError:
                    if self.heartbeat:
                        await self._write(_json_frame({"type": self.cfg.heartbeat_spelling}))
        except (_Abort, ConnectionError):
            return

    def _has_faults(self) -> bool:
        cfg = self.cfg
        return bool(
            cfg.drop_after is not None
            or cfg.stall_after is not None
            or cfg.error_after is not None
            or cfg.malformed_every
        )

    def _drain_outbox(self) -> Iterable[bytes]:
        # Frames leave the outbox only as they are written, so the buffer count stays honest.
        while self.outbox and not self.overflow:
            yield self.outbox.popleft()

    async def _overflow_watch(self) -> None:
        """The buffer filled: error and close now, even while the writer waits on the socket."""
        await self.overflowed.wait()
        self.writer.cancel()
        await asyncio.gather(self.writer, return_exceptions=True)
        self.em.record("overflow", self.conn, str(self.sent))
        self.ws.transport.write(_json_frame({"type": "error", "message": ServerError.OVERFLOW}))
        await self.ws.close(1008, "buffer overflow")

    async def _read_loop(self) -> None:
        async for message in self.ws:
            reason = _hello_problem(message)
            if reason is not None:
                self.em.record("bad-message", self.conn, reason)
                text = f"Invalid message: {reason}"
                self.ws.transport.write(_json_frame({"type": "error", "message": text}))
                await self.ws.close(1008, "invalid message")
                return
            assert isinstance(message, str)
            self.heartbeat = bool(json.loads(message).get("heartbeat", False))
            self.em.record("hello", self.conn, f"heartbeat={self.heartbeat}")

    async def _reconnect_loop(self) -> None:
        every = self.cfg.reconnect_every
        within = self.cfg.reconnect_within
        assert every
        await asyncio.sleep(every)
        before = datetime.now(timezone.utc) + timedelta(seconds=within)
        message = {
            "type": "reconnect",
            "within_seconds": int(within) if float(within).is_integer() else within,
            "before_time": format_time(before),
        }
        self.em.record("reconnect-sent", self.conn)
        await self._write(_json_frame(message))
        await asyncio.sleep(within)
        self.em.record("reconnect-close", self.conn)
        await self.ws.close(1012, "reconnect window ended")


def _hello_problem(message: str | bytes) -> str | None:
    if isinstance(message, bytes):
        return "binary frame"
    try:
        data = json.loads(message)
    except ValueError:
        return "malformed JSON"
    if not isinstance(data, dict):
        return "not a JSON object"
    if data.get("type") != "hello":
        return f"unsupported message type {data.get('type')!r}"
    if not isinstance(data.get("heartbeat", False), bool):
        return "'heartbeat' is not a boolean"
    return None


def _authorized(request: Request | None, key: str) -> bool:
    if request is None:
        return False
    return any(hmac.compare_digest(c.encode(), key.encode()) for c in _offered_keys(request))


def _offered_keys(request: Request) -> list[str]:
    """Every place the docs (and their siblings) allow a key: header, Basic, query, path."""
    offered = []
    for name in ("Authorization", "X-APIKey", "X-CoinAPI-Key"):
        for value in request.headers.get_all(name):
            value = value.strip()
            if name == "Authorization" and value[:6].lower() == "basic ":
                try:
                    user, _, password = base64.b64decode(value[6:]).decode().partition(":")
                except (binascii.Error, UnicodeDecodeError):
                    continue
                if user == "finfeedapi":
                    offered.append(password)
            else:
                offered.append(value)
    parts = urlsplit(request.path)
    offered += parse_qs(parts.query).get("apikey", [])
    offered += [unquote(s[7:]) for s in parts.path.split("/") if s.upper().startswith("APIKEY-")]
    return offered


def _chunks(frames: list[bytes], size: int) -> list[bytes]:
    out, chunk = [], bytearray()
    for frame in frames:
        chunk += frame
        if len(chunk) >= size:
            out.append(bytes(chunk))
            chunk.clear()
    if chunk:
        out.append(bytes(chunk))
    return out


async def serve_forever(
    config: EmulatorConfig, on_ready: Callable[[Emulator], None], quiet: bool = False
) -> int:
    """Run until SIGINT or SIGTERM; ``on_ready`` gets the emulator once it listens.

    Returns the signal number that stopped it. The signals are taken through the event loop:
    a Python-level handler could fire inside a connection's task and be swallowed there.
    """
    emulator = Emulator(config, log=None if quiet else _stderr_log)
    await emulator.start()
    loop = asyncio.get_running_loop()
    stopped: asyncio.Future[int] = loop.create_future()

    def stop(signum: int) -> None:
        if not stopped.done():
            stopped.set_result(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop, signum)
    on_ready(emulator)
    try:
        return await stopped
    finally:
        await emulator.close()


def _stderr_log(event: Event) -> None:
    if event.name in ("connect", "disconnect", "auth-rejected", "overflow", "bad-message"):
        detail = f" {event.detail}" if event.detail else ""
        print(f"secfeed serve: #{event.conn} {event.name}{detail}", file=sys.stderr, flush=True)


class EmulatorThread:
    """The emulator on its own event loop in a background thread (for ``demo`` and tests)."""

    def __init__(self, config: EmulatorConfig, log: Callable[[Event], None] | None = None):
        self.config = config
        self._log = log
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.emulator: Emulator | None = None
        self._thread = threading.Thread(target=self._main, name="secfeed-emulator", daemon=True)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Emulator:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        assert self.emulator is not None
        return self.emulator

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.emulator = Emulator(self.config, log=self._log)
        await self.emulator.start()
        self._ready.set()
        await self._stop.wait()
        await self.emulator.close()
