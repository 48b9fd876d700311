"""One WebSocket connection to the feed: the handshake, a reader thread, the frames it reads.

The reader thread turns socket bytes into frames and hands them, in batches (typed records:
:class:`Texts`, :class:`Frames`, then one :class:`Closed`), to the stream's bounded queue. It
answers pings, and notices a stalled connection. :func:`connect` is the stream's default way of
opening one; the stream takes any function of that shape, so its state machine can be tested
without sockets (tests/test_stream_machine.py).

No click, no rich.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit, urlunsplit

from ..errors import AuthRejected, ConnectFailed
from ..wire.protocol import hello_frame
from .frames import (
    OP_CLOSE,
    OP_PONG,
    OP_TEXT,
    client_frame,
)
from .handshake import Opened, Refused, Untrusted, open_websocket
from .links import Closed, ConnectOptions, Frames, Item, Link, Outbox, Texts
from .linkstate import LinkState

# ---- one connection --------------------------------------------------------------------------

#: The socket timeout: how often an idle reader looks at its clocks (the stream's tick too).
SLICE = 0.2
#: How long the stream's thread may be away (writing output) before the keeper thread reads
#: in its place: longer than handling a burst's read takes, short beside a ping's timeout.
TAKEOVER = 0.1
#: How long a hello or a pong may take to leave.
SEND_TIMEOUT = 5.0
#: How long closing waits for the server's close reply before cutting the connection: a
#: server that never answers costs every run this much at its end (the lines are out before
#: the close starts). A reply that comes later, over a slow link, is only not waited for.
CLOSE_WAIT = 0.1
#: With --no-heartbeat the server still pings every 60 s: a little over two ping intervals.
NO_HEARTBEAT_TIMEOUT = 130.0


class Connection:
    """One WebSocket connection: read by the stream's own thread, kept by a thread of its own.

    Reading is one step at a time (:meth:`_step`: a ``recv``, its frames, pongs for pings),
    under a lock, by whichever thread holds it. The stream's thread reads for itself whenever
    it comes for more (:meth:`read_direct`): a burst is then framed, parsed and written on one
    core, with no hand-over between threads (which cost ~1 us a filing, 15% of the drain, as
    the frames crossed to the other core). The keeper thread reads only while the stream's
    thread is away for longer than :data:`TAKEOVER` (its output blocked: stdout not read, a
    slow terminal) or once we close: it then answers pings, notices a stall and reads ahead
    into the stream's bounded queue, whose items the stream takes before reading again, so
    the order is kept. When that queue fills, reading stops and TCP pushes back.

    The socket's timeout is a short slice, so an idle reader looks at its clocks a few times
    a second: the stall watchdog (time since the last *complete* frame, so a server that
    trickles bytes is still a stalled one) and, once we close, the cap on waiting for the
    server's close reply. Sends (hello, pongs, close) have deadlines of their own.
    """

    def __init__(
        self,
        conn: int,
        opened: Opened,
        out: Outbox,
        opts: ConnectOptions,
        on_lag: Callable[[], None],
    ) -> None:
        self.conn = conn
        self.sock = opened.sock
        self.pending = opened.leftover  # bytes read but not framed yet
        #: -v's traffic: bytes and frames read, and when the connection opened
        self.bytes_in = len(opened.leftover)
        self.frames_in = 0
        self.opened = time.monotonic()
        self.out = out
        self.opts = opts
        self.on_lag = on_lag
        read_timeout = opts.stall_timeout if opts.heartbeat else NO_HEARTBEAT_TIMEOUT
        #: The framing and the clocks (the stall watchdog, the close deadline): pure.
        self.state = LinkState(opts.max_frame, read_timeout, time.monotonic())
        #: Why the connection ended, once it has (its Closed record says the same).
        self.ended: str | None = None
        #: When the stream's thread last came to read (the keeper stays out meanwhile).
        self.asked = time.monotonic()
        self._reading = threading.Lock()
        self._send_lock = threading.Lock()
        self._wake = threading.Event()  # set on close: the keeper reads from then on
        self.thread = threading.Thread(target=self._keep, name=f"secfeed-read-{conn}", daemon=True)
        self.sock.settimeout(SLICE)

    @property
    def closing(self) -> bool:
        return self.state.closing

    @property
    def last_frame(self) -> float:
        return self.state.last_frame

    def start(self) -> None:
        self.thread.start()

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for the keeper to end; whether it has."""
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def send_text(self, text: str) -> None:
        self._send(OP_TEXT, text.encode(), SEND_TIMEOUT)

    def _send(self, opcode: int, payload: bytes, timeout: float) -> None:
        """Send one masked frame within ``timeout`` seconds; raises OSError otherwise."""
        data = client_frame(opcode, payload)
        deadline = time.monotonic() + timeout
        if not self._send_lock.acquire(timeout=timeout):
            raise TimeoutError("another send is blocked")
        try:
            view = memoryview(data)
            while view:
                try:
                    sent = self.sock.send(view)
                except TimeoutError:  # a slice passed with nothing sent: the same bytes again
                    if time.monotonic() >= deadline:
                        raise
                    continue
                view = view[sent:]
        finally:
            self._send_lock.release()

    def close(self, abort: bool = False) -> None:
        """We end this connection: a close frame, then the keeper waits at most CLOSE_WAIT
        for the server's reply; with ``abort`` cut it now. Its end is then not a reason to
        reconnect."""
        if not self.closing:
            self.state.close(time.monotonic(), CLOSE_WAIT)
            self._wake.set()
            if abort or not self._send_close():
                self._shutdown()
        elif abort:
            self._shutdown()

    def _send_close(self) -> bool:
        try:
            self._send(OP_CLOSE, (1000).to_bytes(2, "big"), CLOSE_WAIT)
            return True
        except OSError:  # the socket is gone, or the send did not get through in time
            return False

    def _shutdown(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- reading --

    def read_direct(self) -> list[Item] | None:
        """One read step in the caller's thread (the stream's): what it read (nothing when a
        slice passed in silence; a Closed record last when the connection ended). None when
        the caller must take the queue instead: the keeper is reading (it lets go after its
        current step, seeing the caller back), or what it read waits there."""
        self.asked = time.monotonic()
        if self.closing or self.ended is not None or not self._reading.acquire(blocking=False):
            return None
        try:
            if self.ended is not None or not self.out.empty():
                return None  # the keeper's items go first
            return self._step()
        finally:
            self._reading.release()
            self.asked = time.monotonic()

    def _keep(self) -> None:
        """The keeper thread: reads into the queue while the stream's thread is away."""
        while self.ended is None:
            away = time.monotonic() - self.asked
            if not self.closing and away < TAKEOVER:
                self._wake.wait(TAKEOVER - away)
                continue
            with self._reading:
                if self.ended is not None:
                    break
                if not self.closing and time.monotonic() - self.asked < TAKEOVER:
                    continue  # the stream's thread is back: it reads from here on
                for item in self._step():
                    self._put(item)

    def _step(self) -> list[Item]:
        """Read once (under the reading lock) and frame it; the records it makes."""
        try:
            items = self._read_once()
        except TimeoutError:
            items = [self._end(self._lost("a send timed out (the server is not reading)"))]
        except OSError as exc:  # ssl.SSLError included
            items = [self._end(self._lost(f"connection error: {exc}"))]
        return items

    def _read_once(self) -> list[Item]:
        state = self.state
        if state.due(time.monotonic()):
            # Checked before every read, not only after a read with no whole frame: a peer
            # that keeps sending (heartbeats, a reconnect storm) must not keep a closing link,
            # its socket and its keeper thread alive past the deadline.
            return [self._end("closed")]
        data = self.pending
        self.pending = b""
        if not data:
            try:
                data = self.sock.recv(1 << 16)
            except TimeoutError:
                return self._if_overdue()
            if not data:
                return [self._end(state.lost("connection dropped (no close frame)"))]
            self.bytes_in += len(data)
        now = time.time()
        step = state.received(data, time.monotonic())
        if step.texts is not None:  # the usual case: the payloads alone, handed on
            self.frames_in += step.frames
            return [Texts(self, step.texts, now)]
        self.frames_in += step.frames
        for payload in step.pongs:
            self._send(OP_PONG, payload, SEND_TIMEOUT)
        if step.answer_close:
            self._send_close()  # answer the server's close handshake
        items: list[Item] = [Frames(self, step.batch, now)] if step.batch else []
        if step.ended is not None:  # the frames before the end were handed on
            items.append(self._end(step.ended))
        elif not items and not step.pongs:
            return self._if_overdue()
        return items

    def _lost(self, reason: str) -> str:
        return self.state.lost(reason)

    def _if_overdue(self) -> list[Item]:
        """After a read with no whole frame: the end, if a clock ran out; else nothing."""
        why = self.state.overdue(time.monotonic())
        return [] if why is None else [self._end(why)]

    def _end(self, reason: str) -> Closed:
        """The connection is over: the socket goes, and the Closed record says why."""
        self.ended = reason
        self._shutdown()
        self.sock.close()
        self._wake.set()  # a keeper waiting for its turn sees the end
        return Closed(self, reason)

    def _put(self, item: Item) -> None:
        try:
            self.out.put_nowait(item)
            return
        except queue.Full:
            self.on_lag()
        while True:  # wait for the output, but not for ever once this connection is closing
            try:
                self.out.put(item, timeout=SLICE)
                break
            except queue.Full:
                if self.state.due(time.monotonic()):
                    return
        # The time spent waiting for our own output is not the server's silence: the stall
        # watchdog (time since the last complete frame) starts again as reading resumes.
        # Otherwise the first read after a long wait, if it held no whole frame yet, looked
        # like a stalled server, and the reconnect dropped what the server had sent meanwhile.
        self.state.resumed(time.monotonic())


def connect(
    conn: int,
    out: Outbox,
    opts: ConnectOptions,
    on_lag: Callable[[], None],
    trace: list[str] | None = None,
) -> Link:
    """Open connection number ``conn``: the handshake, the hello, then its reader thread."""
    opened = handshake(opts, trace)
    link = Connection(conn, opened, out, opts, on_lag)
    if opts.heartbeat:
        try:
            link.send_text(hello_frame(True))
        except OSError:
            link._shutdown()  # its reader reports the end; a reconnect follows
    link.start()
    return link


def handshake(opts: ConnectOptions, trace: list[str] | None = None) -> Opened:
    url, header = request_target(opts.url, opts.api_key, opts.key_in)
    timeout = opts.connect_timeout
    if opts.deadline is not None:
        timeout = min(timeout, opts.deadline - time.monotonic())
    try:
        return open_websocket(url, header, timeout, opts.ca_bundle, opts.proxy, trace)
    except Refused as exc:
        if exc.status in (401, 403):
            raise AuthRejected(f"the server refused the API key (HTTP {exc.status})") from None
        if 300 <= exc.status < 400:
            where = exc.location or "(no Location)"
            raise ConnectFailed(
                f"the server redirected to {where[:200]}; secfeed does not follow redirects"
                " (the API key would go with it): use that URL with --url if you trust it"
            ) from None
        raise
    except Untrusted as exc:
        raise ConnectFailed(str(exc)) from None


def request_target(url: str, api_key: str | None, key_in: str) -> tuple[str, list[str]]:
    """The URL and headers of the upgrade request: the key as ``Authorization`` or ``?apikey=``."""
    if not api_key:
        return url, []
    if key_in == "query":
        parts = urlsplit(url)
        query = "&".join(q for q in (parts.query, urlencode({"apikey": api_key})) if q)
        return urlunsplit(parts._replace(query=query)), []
    return url, [f"Authorization: {api_key}"]


def describe(exc: BaseException) -> str:
    """A connect failure on one line. The handshake words its own failures (refused, cannot
    resolve, timed out: HandshakeError); anything else is an OSError mid-handshake."""
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
