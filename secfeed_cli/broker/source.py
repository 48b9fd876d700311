"""``tail --from nats://`` and ``snapshot --from nats://``: filings out of the JetStream stream
``secfeed relay`` fills, as the same events the FinFeedAPI stream yields.

What the stream holds when the consumer starts is the backlog (``is_historical: true``, the
table's dim rows, ``--backlog-only``); what arrives later is live. With ``--durable NAME`` the
consumer is durable: the server remembers what it acknowledged, and a consumer started again
resumes after it. A message is acknowledged only once the run has written and flushed its line
(the generator resumes after the run handled the caught-up event that follows each batch), so a
consumer stopped and restarted misses nothing; a filing cut off by ``--count`` is not
acknowledged.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from msgspec.structs import replace

from ..common.signals import writes_complete
from ..errors import ConnectFailed
from ..feed.dedupe import SeenSet
from ..feed.events import (
    CAUGHT_UP,
    BacklogComplete,
    Connected,
    Event,
    Idle,
    Malformed,
    NewFilings,
    Notice,
    Stats,
)
from ..wire.filing import Filing
from ..wire.protocol import ProtocolError, decode_json, filing_from_record
from . import Health, LoopThread, NatsSettings, NatsSetupError, connect, existing_stream

#: Messages fetched at once, and how long a fetch waits for the first one.
BATCH = 512
#: Messages delivered and not acknowledged, at most, across all runs of a consumer.
MAX_ACK_PENDING = 64 * BATCH
TICK = 0.2
#: Fetches that found nothing, in a row, after which the consumer is asked for (5 s).
CHECK_EVERY = 25
#: Seconds past its own timeout after which a fetch is taken for stuck (its server lost).
STUCK = 10.0


class NatsSource:
    def __init__(
        self, settings: NatsSettings, backlog: bool = True, deadline: float | None = None
    ) -> None:
        self.settings = settings
        self.backlog = backlog
        self._deadline = deadline
        self.stats = Stats(host=settings.shown)
        self.last_cause = f"not connected to NATS at {settings.shown} yet"
        self.seen = SeenSet(200_000)
        self.health = Health()
        self._was_up = True  # what was last said about reaching NATS
        self.loop: LoopThread | None = None
        self.nc: Any = None
        self.sub: Any = None
        #: Messages yielded, not yet acknowledged, with their accession ("" if malformed).
        self.handed: list[tuple[Any, str]] = []
        #: How many of ``handed`` the run has finished with (it says so: :meth:`handled`):
        #: written, once the run's output is flushed.
        self.finished = 0
        #: The last fetch, and how many of its messages were handed: the rest, on an early
        #: stop, are handed back at once.
        self.fetched: list[Any] = []
        self.read = 0
        self.withheld: set[str] = set()  # accessions the run did not show (--count)
        self.js: Any = None
        #: The stream sequence of the last message read: where a consumer made again starts.
        self.last_seq = 0
        self._reconnected = False  # NATS came back: is the consumer still there?
        self._quiet = 0  # fetches in a row that found nothing
        self._fetch_started = -float("inf")

    @property
    def heartbeat(self) -> bool:
        return False

    @property
    def deadline(self) -> float | None:
        return self._deadline

    def _start(self) -> int:
        """Connect and subscribe; returns how many messages the consumer has waiting."""
        self.loop = LoopThread()
        s = self.settings
        try:
            self.nc = self.loop.call(connect(s, self.health), timeout=60)
            js = self.nc.jetstream()
            fix = "use the --subject-prefix its relay uses"
            if self.loop.call(existing_stream(js, s, fix), timeout=30) is None:
                raise NatsSetupError(
                    f"NATS at {s.shown} has no stream {s.stream}: start `secfeed relay --to"
                    " ...` first, or name the stream with --stream"
                )
            self.js = js
            self.sub = self.loop.call(self._subscribe(), timeout=30)
            info = self.loop.call(self.sub.consumer_info(), timeout=30)
        except NatsSetupError as exc:
            self.last_cause = str(exc)
            raise ConnectFailed(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - nats-py raises many kinds
            self.last_cause = f"NATS at {s.shown}: {type(exc).__name__}: {exc}"
            raise ConnectFailed(f"cannot read stream {s.stream} from {s.shown}: {exc!r}") from None
        # Undelivered, plus delivered to an earlier run of a durable consumer but not
        # acknowledged (it stopped first): both are the backlog.
        return int(info.num_pending or 0) + int(info.num_ack_pending or 0)

    async def _subscribe(self, after: int = 0) -> Any:
        """The pull consumer: from the stream's start (or only what is new), or, made again
        after its server was lost, from the message after stream sequence ``after``."""
        from nats.js import api

        s = self.settings
        if after:
            policy = api.DeliverPolicy.BY_START_SEQUENCE
        else:
            policy = api.DeliverPolicy.ALL if self.backlog else api.DeliverPolicy.NEW
        config = api.ConsumerConfig(
            deliver_policy=policy,
            opt_start_seq=after + 1 if after else None,
            ack_policy=api.AckPolicy.EXPLICIT,
            ack_wait=60,
            # Room for the unacknowledged fetches of several runs stopped abruptly in a row
            # (the default 1,000 is less than two of them): delivery never stalls.
            max_ack_pending=MAX_ACK_PENDING,
        )
        return await self.js.pull_subscribe(
            f"{s.prefix}.>", durable=s.durable, stream=s.stream, config=config
        )

    def _recover(self) -> Iterator[Event]:
        """After a failed fetch or a reconnection: if the consumer is gone (its server was
        lost: a consumer that is not durable is one copy, on one server), make it again to
        read on after the last message handed. Filings read twice are dropped as duplicates."""
        from nats.js.errors import NotFoundError

        assert self.loop is not None
        try:
            self.loop.call(self.sub.consumer_info(), timeout=STUCK)
            return
        except NotFoundError:
            pass
        except Exception:  # noqa: BLE001 - no answer: its server is lost, or it is electing
            if self.settings.durable:
                return  # replicated as the stream is: a new leader answers soon
            # One copy, on one server, that does not answer: as good as gone.
        try:
            self.sub = self.loop.call(self._subscribe(self.last_seq), timeout=30)
        except Exception as exc:  # noqa: BLE001 - retried after the next failed fetch
            self.last_cause = f"NATS: the consumer could not be made again: {exc}"
            return
        self.handed, self.finished, self.fetched, self.read = [], 0, [], 0
        yield Notice(
            f"the consumer was lost with its NATS server: reading on from another, after"
            f" stream message {self.last_seq}"
        )

    def events(self) -> Iterator[Event]:
        waiting = self._start()
        from nats.errors import TimeoutError as NoMessages  # a fetch's: nothing came

        self.stats.state = "connected"
        self.last_cause = "connected to NATS"
        yield Connected(1, self.stats.host)
        shown_backlog = 0
        backlog_seen = 0
        # The stream messages of the backlog delivered so far, each counted once: a message
        # can come again (its acknowledgement lost with a server, a consumer made again), and
        # counted twice it would end the backlog before its last messages came (lost to a
        # --backlog-only run). Kept only until the backlog is complete.
        counted: set[int] = set()
        if waiting == 0:
            self.stats.backlog_complete = True
            yield BacklogComplete(initial=True, new=0, overlap=0)
        assert self.loop is not None
        while True:
            yield from self._reachability()
            try:
                # A signal is held while a fetch is under way (at most TICK when idle): one
                # that landed here would leave the batch fetched on the loop's thread and known
                # to nobody, neither acknowledged nor handed back, so the next run of a
                # durable consumer would wait out the server's ack_wait (60 s) for it.
                with writes_complete():
                    self._fetch_started = time.monotonic()
                    messages = self.loop.call(
                        self.sub.fetch(BATCH, timeout=TICK), timeout=TICK + STUCK
                    )
                    self.fetched, self.read = messages, 0
            except Exception as exc:  # noqa: BLE001 - a fetch timeout is nats-py's TimeoutError
                quiet = isinstance(exc, NoMessages)  # not a fetch stuck past STUCK
                self._quiet = self._quiet + 1 if quiet else 0
                if not quiet:
                    self.last_cause = f"NATS: {type(exc).__name__}: {exc}"
                # Asked after a failure, a reconnection, and every few seconds of silence
                # (the server that held the consumer may be lost while this one stays up).
                if not quiet or self._reconnected or self._quiet % CHECK_EVERY == 0:
                    self._reconnected = False
                    yield from self._recover()
                yield Idle()
                continue
            self._quiet = 0
            received = time.time()
            filings: list[Filing] = []
            for message in messages:
                self.read += 1
                sequence = _stream_sequence(message)
                self.last_seq = max(self.last_seq, sequence)
                historical = not self.stats.backlog_complete
                if historical and (sequence == 0 or sequence not in counted):
                    counted.add(sequence)  # 0: no sequence known, every delivery counts
                    backlog_seen += 1
                last_of_backlog = historical and backlog_seen >= waiting
                bad = None
                try:
                    filing = filing_from_record(decode_json(message.data), message.data)
                except ProtocolError as exc:
                    filing, bad = None, str(exc)
                self.handed.append((message, "" if filing is None else filing.accession_no))
                if bad is not None:
                    self.stats.malformed += 1
                    yield Malformed("nats message", bad)
                if filing is not None:
                    if filing.is_historical != historical:
                        filing = replace(filing, is_historical=historical)
                    self.stats.received += 1
                    if self.seen.add(filing.accession_no):
                        filings.append(filing)
                        shown_backlog += historical
                    else:
                        self.stats.duplicates += 1
                if last_of_backlog:  # the backlog ends here: what follows is live
                    if filings:
                        yield NewFilings(filings, received)
                        filings = []
                    self.stats.backlog_complete = True
                    counted.clear()
                    yield BacklogComplete(initial=True, new=shown_backlog, overlap=0)
            if filings:
                yield NewFilings(filings, received)
            yield CAUGHT_UP
            self.finished = len(self.handed)
            self._acknowledge()  # the run has written and flushed what came before

    def _reachability(self) -> Iterator[Event]:
        """Say when NATS becomes unreachable, and when it is back (the status line too)."""
        up = self.health.up
        if up == self._was_up:
            return
        self._was_up = up
        stats = self.stats
        if up:
            self._reconnected = True
            stats.state, stats.cause = "connected", None
            self.last_cause = "connected to NATS"
            yield Notice(f"NATS at {stats.host} is reachable again", level="info")
        else:
            cause = self.health.cause or "disconnected"
            stats.state, stats.cause = "reconnecting", f"NATS unreachable: {cause}"
            self.last_cause = f"NATS at {stats.host} unreachable: {cause}"
            yield Notice(f"NATS at {stats.host} is unreachable ({cause}); reconnecting")

    def _acknowledge(self, back: list[Any] | None = None) -> None:
        """Acknowledge what the run finished with (but what it withheld), and hand back at
        once (nak) the rest of what was handed and ``back``: delivered again, now or to the
        next run, without waiting for the server's ack_wait."""
        if (not self.handed and not back) or self.loop is None:
            return
        done, rest = self.handed[: self.finished], self.handed[self.finished :]
        acks = [m for m, accession in done if accession not in self.withheld]
        naks = [m for m, accession in done if accession in self.withheld]
        naks += [m for m, _ in rest] + list(back or [])

        async def settle() -> None:
            for message in acks:
                await message.ack()
            for message in naks:
                await message.nak()
            await self.nc.flush()

        # Held, as a fetch is: a signal in the middle would leave some of them unsettled.
        with writes_complete():
            self.handed, self.finished = [], 0
            try:
                self.loop.call(settle(), timeout=30)
            except Exception as exc:  # noqa: BLE001 - not acknowledged: delivered again later
                self.last_cause = f"NATS: acknowledging failed: {exc}"

    async def _late_arrivals(self) -> list[Any]:
        """Messages the server delivered after a fetch had stopped waiting for them (on a
        loaded machine its client-side timeout can come first): they sit in the
        subscription's queue, neither fetched nor settled, and would wait out the ack_wait.
        Once the last pull request has expired and a round trip has brought in all the
        server sent before it, they are taken from the queue to be handed back."""
        import asyncio

        from nats.js.client import JetStreamContext

        left = self._fetch_started + TICK - time.monotonic()  # the pull request's life
        if left > 0:
            await asyncio.sleep(left)
        await self.nc.flush()
        queue = getattr(getattr(self.sub, "_sub", None), "_pending_queue", None)
        late: list[Any] = []
        while queue is not None and not queue.empty():
            message = queue.get_nowait()
            if message.reply and not JetStreamContext.is_status_msg(message):
                late.append(message)
        return late

    def unconsumed(self, filings: list[Filing]) -> None:
        self.withheld.update(f.accession_no for f in filings)

    def handled(self) -> None:
        self.finished = len(self.handed)

    def close(self, settled: bool = False) -> None:
        if self.loop is None:
            return
        if not settled:  # not known to be written: delivered again, now or to the next run
            self.finished = 0
        unread, self.fetched = self.fetched[self.read :], []
        try:
            unread += self.loop.call(self._late_arrivals(), timeout=TICK + 10)
        except Exception:  # noqa: BLE001 - best effort: those few wait out the ack_wait
            pass
        self._acknowledge(unread)
        try:
            if self.nc is not None:
                self.loop.call(self.nc.close(), timeout=5)
        except Exception:  # noqa: BLE001 - closing is best effort
            pass
        self.loop.stop()
        self.loop = None


def _stream_sequence(message: Any) -> int:
    try:
        return int(message.metadata.sequence.stream)
    except Exception:  # noqa: BLE001 - not a JetStream message's reply subject
        return 0
