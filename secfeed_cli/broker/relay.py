"""``secfeed relay``: the feed into a NATS JetStream stream, a filing delivered once acknowledged.

The relay is an ordinary run (``run.execute``) whose sink publishes instead of printing: every
filing that passes the filters becomes one message, its payload the NDJSON object of
``tail -f ndjson``, its subject ``<prefix>.<form token>``, its ``Nats-Msg-Id`` the accession
number, so that JetStream drops a filing it already holds (a second relay, a restart).

At most ``max_unacked`` filings are out without an acknowledgement; when that many wait (NATS is
down or slow), :meth:`RelaySink.filings` blocks, the run stops reading the stream, and the
connection's bounded queue and then TCP hold the feed back: nothing is dropped. Each filing is
retried with backoff until NATS acknowledges it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import TYPE_CHECKING, Any

from ..errors import ConnectFailed
from ..output.encode import ndjson_lines
from ..wire.filing import Filing, parse_time
from . import (
    Health,
    LoopThread,
    NatsSettings,
    NatsSetupError,
    connect,
    existing_stream,
    subject_token,
)

if TYPE_CHECKING:
    from ..common.diagnostics import Diagnostics
    from .status import StatusLine

#: Seconds a relay stopping waits for acknowledgements still due, while none comes: as long
#: as they keep coming (a new leader elected, the retries going through), it waits on.
CLOSE_WAIT = 15.0
#: Seconds without an acknowledgement after which a filing is published again.
ACK_TIMEOUT = 5.0


class RelaySink:
    #: What the run's summary says the output did with a filing.
    verb = "published"

    def __init__(
        self,
        settings: NatsSettings,
        diag: Diagnostics,
        terminal: bool = False,
    ) -> None:
        """``diag``: the run's lines; ``terminal``: a status line on stderr, with those lines
        printed above it."""
        self.settings = settings
        self.diag = diag
        self.warn = diag.warn
        self.info = diag.info
        self.loop = LoopThread()
        self.health = Health()
        self._recreating = asyncio.Lock()
        try:
            self.nc = self.loop.call(connect(settings, self.health), timeout=60)
            self.js = self.nc.jetstream()
            self.window = self.loop.call(self._ensure_stream(), timeout=30)
        except NatsSetupError as exc:
            self.loop.stop()
            raise ConnectFailed(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - nats-py raises many kinds
            self.loop.stop()
            raise ConnectFailed(f"cannot use NATS at {settings.shown}: {exc!r}") from None
        self.slots = threading.BoundedSemaphore(settings.max_unacked)
        self.lock = threading.Lock()
        self.settled = threading.Condition(self.lock)  # notified as acknowledgements come
        self.written = 0  # acknowledged: published or already there
        self.published = 0
        self.duplicates = 0
        self.retries = 0
        self.out = 0  # handed to the loop, not yet acknowledged
        self.oldest_backlog: float | None = None  # discovered time, for the window check
        self._warned_full = False
        self._warned_size = False  # a message past max_payload, said once
        self._warned_down = False
        self._window_checked = False
        self.status: StatusLine | None = None
        if terminal:
            from .status import StatusLine

            self.status = StatusLine(self.status_text, diag.stderr)

    async def _ensure_stream(self) -> float:
        """The stream's de-duplication window; the stream is created when missing, with as
        many replicas as the cluster holds (up to 3), or ``--replicas``."""
        from nats.js import api
        from nats.js.errors import APIError

        s = self.settings
        found = await existing_stream(
            self.js, s, "use the --subject-prefix it takes, or another --stream"
        )
        cluster = int(getattr(self.nc, "cluster_size", 1))
        if found is not None:
            await self._replicas_of(found, cluster)
            self.info(f"publishing into the existing stream {s.stream} (its settings as they are)")
            return float(found.duplicate_window or 0)
        choices = [s.replicas] if s.replicas else list(range(min(cluster, 3), 0, -1))
        for n in choices:
            config = api.StreamConfig(
                name=s.stream,
                subjects=[f"{s.prefix}.>"],
                storage=api.StorageType.FILE,
                duplicate_window=s.dedupe_window,
                max_age=s.max_age,
                num_replicas=n,
            )
            try:
                await self.js.add_stream(config)
                break
            except APIError as exc:
                if getattr(exc, "err_code", None) not in NO_ROOM:
                    raise await self._refused(exc) from None
                if n != choices[-1]:
                    continue  # fewer servers with JetStream than in the cluster: one less
                raise self._no_room(n, exc) from None
        self.info(
            f"created stream {s.stream} on {s.shown}: subjects {s.prefix}.>, file storage,"
            f" {_copies(n)}, de-duplication window {s.dedupe_window:g} s,"
            f" max age {s.max_age:g} s"
        )
        return s.dedupe_window

    async def _replicas_of(self, found: Any, cluster: int) -> None:
        """An existing stream: given the replicas --replicas asks for; else a warning when
        it has fewer than the cluster could hold (one server lost, the stream lost)."""
        from nats.js.errors import APIError

        s = self.settings
        have = int(found.num_replicas or 1)
        if s.replicas is not None and s.replicas != have:
            found.num_replicas = s.replicas
            try:
                await self.js.update_stream(found)
            except APIError as exc:
                if getattr(exc, "err_code", None) in NO_ROOM:
                    raise self._no_room(s.replicas, exc) from None
                raise NatsSetupError(
                    f"NATS at {s.shown} would not give stream {s.stream} {_copies(s.replicas)}:"
                    f" {getattr(exc, 'description', None) or exc!r}"
                ) from None
            self.info(f"stream {s.stream} now has {_copies(s.replicas)} (it had {have})")
            return
        could = min(cluster, 3)
        if have < could:
            self.warn(
                f"stream {s.stream} has {_copies(have)} in a cluster of {cluster} servers: losing"
                f" {'its server' if have == 1 else f'{have} servers'} loses it; give it"
                f" {could}: secfeed relay --replicas {could} (with your --to and --stream)"
            )

    def _no_room(self, n: int, exc: Any) -> NatsSetupError:
        s = self.settings
        fewer = f"--replicas {n - 1}" if n > 1 else "a server with JetStream"
        return NatsSetupError(
            f"NATS at {s.shown} cannot keep {_copies(n)} of stream {s.stream}: fewer servers"
            f" of its cluster run JetStream ({getattr(exc, 'description', None) or exc}):"
            f" {fewer}, or more servers with -js"
        )

    async def _recreate(self) -> None:
        """The stream is gone (a server restarted with an empty store): make it again, with
        the settings a new one gets, once; the filings being retried then go into it."""
        from nats.js.errors import NotFoundError

        s = self.settings
        async with self._recreating:  # publishes fail together: one of them makes the stream
            try:
                await self.js.stream_info(s.stream)
                return  # it is there (made by another publish, or the failure was another)
            except NotFoundError:
                pass
            except Exception:  # noqa: BLE001 - NATS down: the retries go on
                return
            try:
                await self._ensure_stream()
            except Exception as exc:  # noqa: BLE001 - retried with the next failure
                self.warn(f"stream {s.stream} is gone from {s.shown} and could not be made: {exc}")
                return
        self.warn(
            f"stream {s.stream} was gone from {s.shown} (a server restarted with an empty"
            " store?): created it again; the filings not acknowledged go into it"
        )

    async def _refused(self, exc: Any) -> NatsSetupError:
        """Why the server would not create the stream, in a line that says what to do."""
        s = self.settings
        if getattr(exc, "err_code", None) == 10065:  # subjects overlap with an existing stream
            others = []
            for info in await self.js.streams_info():
                taken = list(info.config.subjects or [])
                if any(t.split(".")[0] in (s.prefix.split(".")[0], "*", ">") for t in taken):
                    others.append(f"{info.config.name} ({', '.join(taken)})")
            named = "; ".join(others) or "another stream"
            return NatsSetupError(
                f"stream {s.stream} cannot be created on {s.shown}: its subjects {s.prefix}.>"
                f" overlap those of {named}: relay into that stream with --stream, or choose"
                " another --subject-prefix"
            )
        description = getattr(exc, "description", None) or repr(exc)
        return NatsSetupError(
            f"NATS at {s.shown} refused to create stream {s.stream}: {description}"
        )

    # -- the sink --

    def filings(self, filings: list[Filing], received: float) -> None:
        payloads = ndjson_lines(filings).split(b"\n")
        ready: list[tuple[str, str, bytes]] = []
        limit = int(getattr(self.nc, "max_payload", 1 << 20))
        for filing, payload in zip(filings, payloads, strict=False):
            if len(payload) > limit:  # --text-full's words past the server's message size
                payload = self._fitted(filing, limit)
            if filing.is_historical:
                self._note_backlog(filing)
            elif not self._window_checked:
                self._check_window()
            if not self.slots.acquire(blocking=False):
                self._schedule(ready)  # what is ready goes first: its acks free slots
                ready = []
                if not self.slots.acquire(timeout=1.0):
                    if not self._warned_full:
                        self._warned_full = True
                        self.warn(
                            f"NATS has not acknowledged {self.settings.max_unacked} filings:"
                            " the relay stops reading the feed until it does (the feed waits"
                            " in TCP; nothing is dropped)"
                        )
                    self.slots.acquire()
            subject = f"{self.settings.prefix}.{subject_token(filing.form)}"
            ready.append((subject, filing.accession_no, payload))
        self._schedule(ready)

    def _fitted(self, filing: Filing, limit: int) -> bytes:
        """A message within NATS's ``max_payload``: the words' excerpts only (a larger one
        would be refused, and retried for ever); said once."""
        from ..filtering.grep import without_full_text

        if not self._warned_size:
            self._warned_size = True
            self.warn(
                f"a filing's text is larger than NATS takes in one message ({limit:,} bytes,"
                " the server's max_payload): its message carries the excerpts, not the whole"
                " text (--text-full)"
            )
        return ndjson_lines([without_full_text(filing)]).rstrip(b"\n")

    def _schedule(self, items: list[tuple[str, str, bytes]]) -> None:
        if items:
            with self.lock:
                self.out += len(items)
            self.loop.loop.call_soon_threadsafe(self._start, items)

    def _start(self, items: list[tuple[str, str, bytes]]) -> None:
        asyncio.ensure_future(self._deliver(items))

    async def _deliver(self, items: list[tuple[str, str, bytes]]) -> None:
        """Publish a batch, all at once (publish_async: one shared reply subscription, no
        request per filing), then await the acks; what fails or times out goes again."""
        pending = items
        pause = 0.2
        while pending:
            sent: list[tuple[tuple[str, str, bytes], asyncio.Future[Any]]] = []
            failed: list[tuple[str, str, bytes]] = []
            problem: BaseException | None = None
            for item in pending:
                subject, accession, payload = item
                try:
                    future = await self.js.publish_async(
                        subject, payload, headers={"Nats-Msg-Id": accession}
                    )
                except Exception as exc:  # noqa: BLE001 - down, reconnecting: again later
                    failed.append(item)
                    problem = exc
                    continue
                sent.append((item, future))
            if sent:
                await asyncio.wait([f for _, f in sent], timeout=ACK_TIMEOUT)
            for item, future in sent:
                if not future.done():
                    future.cancel()
                    failed.append(item)
                    problem = problem or TimeoutError("no acknowledgement")
                elif future.cancelled() or future.exception() is not None:
                    failed.append(item)
                    problem = problem or future.exception()
                else:
                    self._acknowledged(future.result())
            pending = failed
            if pending and _stream_gone(problem):
                await self._recreate()
            if pending:
                with self.lock:
                    self.retries += len(pending)
                    first = not self._warned_down
                    self._warned_down = True
                if first:
                    self.warn(
                        f"NATS did not acknowledge {len(pending)} filings"
                        f" ({type(problem).__name__}); retrying with backoff until it does"
                    )
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)

    def _acknowledged(self, ack: Any) -> None:
        with self.lock:
            if ack.duplicate:
                self.duplicates += 1
            else:
                self.published += 1
            self.written += 1
            self.out -= 1
            self.settled.notify_all()
            if self._warned_down:
                self._warned_down = False
                self.info("NATS acknowledges again")
        self.slots.release()

    def _note_backlog(self, filing: Filing) -> None:
        try:
            when = parse_time(filing.discovered_time).timestamp()
        except ValueError:
            return
        if self.oldest_backlog is None or when < self.oldest_backlog:
            self.oldest_backlog = when

    def _check_window(self) -> None:
        self._window_checked = True
        if self.oldest_backlog is None:
            return
        reach = time.time() - self.oldest_backlog
        if self.window < reach:
            self.warn(
                f"stream {self.settings.stream} de-duplicates over {self.window:g} s, but the"
                f" backlog reaches {reach:.0f} s back: a relay restarted later would publish its"
                " older filings again (raise the stream's duplicate window)"
            )

    def backlog_complete(self) -> None:
        self._check_window()

    def flush(self) -> None:
        pass

    def status_text(self) -> str:
        """State, published, acknowledged, waiting for NATS, and whether NATS is reachable."""
        with self.lock:
            acked, fresh, out = self.written, self.published, self.out
        if self.health.up:
            state = f"● relaying to {self.settings.shown}"
        else:
            state = f"● NATS unreachable ({self.health.cause or 'disconnected'}), retrying"
        return (
            f"{state} │ {fresh:,} published · {acked:,} acknowledged · {out:,} awaiting"
            " acknowledgement"
        )

    def close(self) -> None:
        """Wait (up to CLOSE_WAIT) for the acknowledgements still due, then disconnect."""
        if not self._window_checked:
            self._check_window()
        with self.settled:
            while self.out:
                before = self.written
                self.settled.wait_for(lambda: self.out == 0, CLOSE_WAIT)
                if self.written == before:
                    break  # none came for CLOSE_WAIT: NATS is not coming back in time
            left = self.out
        try:
            self.loop.call(self.nc.close(), timeout=5)
        except Exception:  # noqa: BLE001 - closing is best effort
            pass
        self.loop.stop()
        if self.status is not None:
            self.status.close()
        if left:
            self.warn(
                f"{left} filings were not acknowledged by NATS before the relay stopped: they"
                " are not in the stream (a relay started later publishes the backlog again)"
            )
        self.info(self.summary())

    def summary(self) -> str:
        return (
            f"relay: {self.published} published, {self.duplicates} already in the stream"
            f" (duplicates), {self.retries} retries"
        )


#: JetStream's codes for "not enough servers for these replicas": no suitable peers,
#: insufficient resources, replicas in a server without a cluster.
NO_ROOM = frozenset({10005, 10023, 10074})


def _copies(n: int) -> str:
    return f"{n} replica{'s' if n != 1 else ''}"


def _stream_gone(problem: BaseException | None) -> bool:
    """Whether a publish failed as it does when no stream takes the subject."""
    name = type(problem).__name__
    return name in ("NoStreamResponseError", "NoRespondersError")
