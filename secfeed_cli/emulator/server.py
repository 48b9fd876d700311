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
import contextlib
import json
import ssl
import threading
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from itertools import count

import msgspec
from websockets.asyncio.server import Server, ServerConnection, serve

from ..wire.filing import format_time, parse_time
from ..wire.protocol import ServerError
from .auth import authorized, hello_problem
from .faults import SessionEnds, apply_faults, has_faults, json_frame
from .feed import Feed, Published, Record, firehose_records, load_sample, publish_record
from .http import PlainHttp

CHUNK = 1 << 16
EVENT_LOG = 10_000


class EmulatorConfig(msgspec.Struct):
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
    heartbeat_interval: float = 1.0  # the documented second of silence before a heartbeat
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
    #: Play EDGAR too: its real documents at their paths, those filings last in the backlog.
    edgar: bool = False
    edgar_fault: str | None = None  # one of emulator.edgar.FAULTS
    edgar_indexes: str | None = None  # a folder of EDGAR's index files, served at their paths


class Event(msgspec.Struct, frozen=True):
    name: str
    conn: int
    detail: str = ""


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
        self.port = 0
        self._firehose: list[bytes] = []
        self._firehose_chunks: list[bytes] = []
        self._server: Server | None = None
        self.http = PlainHttp(config, self._announced, self.record)

    def _announced(self) -> list[tuple[Record, str]]:
        return [(item.record, item.discovered_time) for item in self.feed.announced]

    @property
    def edgar_agents(self) -> set[str]:
        """The User-Agents EDGAR's requests came with (for tests)."""
        return self.http.agents

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

    def history(self) -> list[Event]:
        """The events so far, copied (the server's thread adds to them as they happen)."""
        with self.changed:
            return list(self.events)

    def wait_for(self, name: str, timeout: float = 90.0, conn: int | None = None) -> Event:
        """Block (in another thread) until an event of that name happened; for tests. The
        default bound is for a machine far slower than a developer's (a client that is still
        importing its modules): an event that comes, comes long before it."""

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

    def publish(self, n: int = 1, at: datetime | None = None) -> list[Published]:
        """Publish ``n`` filings now (or stamped ``at``: as if the feed had moved on while a
        client was away), from any thread (for tests and embedding)."""
        import concurrent.futures

        done: concurrent.futures.Future[list[Published]] = concurrent.futures.Future()

        def go() -> None:
            done.set_result([self.feed.publish_next(at) for _ in range(n)])

        self.loop.call_soon_threadsafe(go)
        return done.result(timeout=90)

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        cfg = self.config
        now = datetime.now(timezone.utc)
        # The starting backlog looks like a feed that has been running: one filing a second
        # up to now (the order is the sample's, oldest accepted first).
        for i in range(cfg.backlog):
            self.feed.publish_next(now - timedelta(seconds=cfg.backlog - i))
        if cfg.edgar:
            from .edgar import documents

            records, self.http.documents = documents()
            # The newest of the backlog, on top of it (what --details shows first).
            self.feed.history = deque(self.feed.history, maxlen=cfg.backlog + len(records))
            for record in records:
                self.feed.history.append(publish_record(record, now))
        self.http.load_indexes()
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
            process_request=self.http.answer if self.http.needed else None,
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
        self.http.closing.set()  # a slow EDGAR answer ends now
        await asyncio.sleep(0)
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

    async def _handle(self, ws: ServerConnection) -> None:
        conn = next(self._ids)
        self.record("connect", conn, str(ws.remote_address))
        try:
            if self.config.api_key is not None and not authorized(ws.request, self.config.api_key):
                self.record("auth-rejected", conn)
                await ws.send(json.dumps({"type": "error", "message": ServerError.INVALID_KEY}))
                await ws.close(1008, "invalid API key")
                return
            await Session(self, ws, conn).run()
        finally:
            self.record("disconnect", conn)


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
        self.malformed = 0

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
        size = self.cfg.backlog + len(self.em.http.documents)  # --edgar: its filings on top
        backlog = [] if self.cfg.firehose else feed.backlog(size)
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

    async def write(self, data: bytes) -> None:
        transport = self.ws.transport
        if transport.is_closing():
            raise SessionEnds
        transport.write(data)
        await self.ws.drain()

    async def _send_filings(self, frames: Iterable[bytes]) -> None:
        """Write filing frames in large chunks, applying faults frame by frame."""
        faults = self.faulty and has_faults(self.cfg)
        chunk = bytearray()
        pending = 0  # filings in `chunk`; `sent` counts filings handed to the transport
        for frame in frames:
            if faults:
                await apply_faults(self, chunk, pending)
            chunk += frame
            pending += 1
            if len(chunk) >= CHUNK:
                await self.flush(chunk, pending)
                pending = 0
        if chunk:
            await self.flush(chunk, pending)

    async def flush(self, chunk: bytearray, filings: int) -> None:
        data = bytes(chunk)
        chunk.clear()
        self.sent += filings
        await self.write(data)

    async def _write_loop(self, backlog: list[Published]) -> None:
        try:
            if self.cfg.firehose and not (self.faulty and has_faults(self.cfg)):
                for blob in self.em._firehose_chunks:
                    await self.write(blob)
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
                    await asyncio.wait_for(self.wake.wait(), timeout=self.cfg.heartbeat_interval)
                except asyncio.TimeoutError:
                    if self.heartbeat:
                        await self.write(json_frame({"type": self.cfg.heartbeat_spelling}))
        except (SessionEnds, ConnectionError):
            return

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
        self.ws.transport.write(json_frame({"type": "error", "message": ServerError.OVERFLOW}))
        await self.ws.close(1008, "buffer overflow")

    async def _read_loop(self) -> None:
        async for message in self.ws:
            reason = hello_problem(message)
            if reason is not None:
                self.em.record("bad-message", self.conn, reason)
                text = f"Invalid message: {reason}"
                self.ws.transport.write(json_frame({"type": "error", "message": text}))
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
        await self.write(json_frame(message))
        await asyncio.sleep(within)
        self.em.record("reconnect-close", self.conn)
        await self.ws.close(1012, "reconnect window ended")


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
