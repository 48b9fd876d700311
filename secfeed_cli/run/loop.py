"""One run of ``tail``, ``snapshot``, ``relay`` or ``demo`` (and the ui's feed thread): the
stream's events through the filter into a sink, with limits.

No click here: ``cli/`` turns options into these objects and maps the outcome to an exit code.
"""

from __future__ import annotations

import operator
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import msgspec

from ..common.diagnostics import Diagnostics
from ..common.settings import RunSettings
from ..common.signals import writes_complete
from ..companies.lookup import Companies
from ..errors import (
    ConnectFailed,
    ExitCode,
    Terminated,
    closed_pipe,
    write_failed,
)
from ..feed.events import (
    BacklogComplete,
    Connected,
    Disconnected,
    Idle,
    Malformed,
    NewFilings,
    Notice,
    Source,
)
from ..filtering.filters import FilingFilter
from ..filtering.grep import without_full_text
from ..output import Sink, Status
from ..output.latency import LatencyStats
from ..output.records import latency_ms
from ..wire.filing import Filing
from .reach import gap, since_reached
from .summary import summarise

if TYPE_CHECKING:
    from ..alerts import Alerts
    from ..archive.writer import ArchiveWriter
    from ..details.edgar import EdgarClient
    from ..details.stage import Enricher

_HISTORICAL = operator.attrgetter("is_historical")
#: tail --state: during a burst the state is saved at most this often (seconds); a SIGKILL can
#: repeat at most what was printed since (a signal or the end saves it at once).
CHECKPOINT_EVERY = 1.0


class Counters(msgspec.Struct):
    filtered: int = 0
    already_written: int = 0  # in the snapshot state file
    backlog_skipped: int = 0  # --no-backlog
    handed: int = 0  # filings given to the sink (what --count counts)
    after_count: int = 0  # received with the last batch, after --count was reached
    older: int = 0  # backlog filings older than the newest -n N


class Run:
    """Drives one stream into one sink; :meth:`status` feeds the table's status line."""

    def __init__(
        self,
        stream: Source,
        filt: FilingFilter,
        limits: RunSettings,
        diag: Diagnostics,
        skip: Callable[[str], bool] | None = None,
        alerts: Alerts | None = None,
        checkpoint: Callable[[], None] | None = None,
        enricher: Enricher | None = None,
        companies: Companies | None = None,
        archive: ArchiveWriter | None = None,
        backfill: EdgarClient | None = None,
    ) -> None:
        self.stream = stream
        self.filt = filt
        self.limits = limits
        self.diag = diag
        self.counters = Counters()
        self.latency = LatencyStats()
        self.sink: Sink | None = None
        self.skip = skip
        self.alerts = alerts
        #: tail --state: saves what the output took (called right after a flush)
        self.checkpoint = checkpoint
        #: --details: filings wait here for what EDGAR says of them (``details/stage.py``)
        self.enricher = enricher
        #: who filed each filing, set before any output sees it (outputs look nothing up)
        self.companies = Companies() if companies is None else companies
        #: --archive: every filing received goes here, before the filters
        self.archive = archive
        #: --backfill: a gap in the archive is filled from EDGAR's indexes with this client
        self.backfill = backfill
        self._checked = time.monotonic()
        self._warned_growing = False
        #: -n N: the newest N backlog filings that pass, held until the backlog is complete
        self._held: deque[Filing] | None = None
        self._held_received = 0.0
        if limits.lines is not None and limits.backlog:
            self._held = deque(maxlen=limits.lines)
        #: --since: the oldest discovered_time (to the second) of the first backlog, to say
        #: whether it reaches back that far
        self._reach: str | None = None
        self._measure_reach = (filt.since is not None or archive is not None) and limits.backlog

    def status(self) -> Status:
        stats = self.stream.stats
        now = time.monotonic()
        age = None
        if stats.last_heartbeat is not None:
            age = now - stats.last_heartbeat
        return Status(
            state=stats.state,
            host=stats.host,
            shown=self.shown,
            filtered=self.counters.filtered,
            malformed=stats.malformed,
            backlog_complete=stats.backlog_complete,
            heartbeat_age=age,
            heartbeat_on=self.stream.heartbeat,
            latency=self.latency.summary(),
            received=stats.received,
            skipped=self.counters.backlog_skipped,
            cause=stats.cause,
            retry_in=None if stats.retry_at is None else max(0.0, stats.retry_at - now),
            undrawn=self.undrawn,
        )

    def run(self, sink: Sink) -> ExitCode:
        """Run until a limit is reached; exceptions (errors, signals) propagate to the caller."""
        self.sink = sink
        limits = self.limits
        start = time.monotonic()
        deadline = None if limits.duration is None else start + limits.duration
        give_up = self.stream.deadline
        if limits.count == 0:
            return ExitCode.OK
        output_failed = False
        try:
            for event in self.stream.events():
                if isinstance(event, NewFilings):
                    with writes_complete():  # handled whole, and said so, or not at all
                        done = self._filings(sink, event)
                        self.stream.handled()
                        if self.checkpoint is not None and not done:
                            self._save(sink, CHECKPOINT_EVERY)
                    if done:
                        return ExitCode.OK
                elif isinstance(event, BacklogComplete):
                    with writes_complete():  # -n: the held backlog filings go out here
                        done = self._backlog(sink, event)
                        self.stream.handled()
                    if done:
                        return ExitCode.OK
                elif isinstance(event, Idle):
                    if self.enricher is not None and self.enricher.waiting:
                        with writes_complete():
                            self._let_out(sink, block=False)
                    sink.flush()
                    if self.checkpoint is not None:
                        with writes_complete():
                            self._save(sink, 0.0)
                elif isinstance(event, Malformed):
                    self.diag.warn(
                        f"skipped a malformed frame ({event.kind}): {event.reason}"
                        " (further ones of this kind are counted silently)",
                        once=f"malformed:{event.kind}",
                    )
                    self.diag.info(f"malformed frame ({event.kind}): {event.reason}", verbose=True)
                elif isinstance(event, Notice):
                    say = self.diag.warn if event.level == "warning" else self.diag.info
                    say(event.text, verbose=event.verbose, once=event.key)
                elif isinstance(event, Connected):
                    self.diag.info(f"connected to {event.host} (connection #{event.conn})")
                elif isinstance(event, Disconnected):
                    retry = (
                        ""
                        if event.retry_in is None
                        else f"; reconnecting in {event.retry_in:.1f} s"
                    )
                    self.diag.warn(f"connection #{event.conn} lost: {event.reason}{retry}")
                if deadline is not None and time.monotonic() >= deadline:
                    return ExitCode.OK
                if give_up is not None and time.monotonic() >= give_up:
                    raise ConnectFailed(
                        f"the backlog was not complete after {limits.timeout:g} s (--timeout):"
                        f" {self.stream.last_cause}"
                    )
            return ExitCode.CONNECT  # pragma: no cover - the stream ends only by raising
        except OSError as exc:
            output_failed = True
            if closed_pipe(exc):
                raise
            raise write_failed(exc) from None
        finally:
            settled = False
            try:
                # The last lines go out before the close handshake; on an orderly stop by a
                # signal too, so that a source that acknowledges (NATS) can settle exactly
                # what the run handled (a signal never lands inside that: see run()).
                stopped = sys.exc_info()[1]
                orderly = stopped is None or isinstance(stopped, (KeyboardInterrupt, Terminated))
                if not output_failed and self.enricher is not None:
                    # What waits for details goes out too, whatever ends the run: at the end
                    # of a run, once its details are in or its wait is over; on a signal or
                    # an error, at once, those without details as deferred.
                    self._let_out_at_end(sink, stopped)
                if orderly:
                    sink.flush()
                    settled = True
                    if self.checkpoint is not None:
                        self.checkpoint()
            finally:
                self.stream.close(settled)

    def _save(self, sink: Sink, every: float) -> None:
        """tail --state: flush, then save, at most once in ``every`` seconds."""
        assert self.checkpoint is not None
        now = time.monotonic()
        if now - self._checked >= every:
            self._checked = now
            sink.flush()  # what the state is to hold is out first
            self.checkpoint()

    def _filings(self, sink: Sink, event: NewFilings) -> bool:
        """Show what passes; True once --count is reached.

        Each step runs over the whole batch (a burst from one socket read is hundreds of
        filings), and the sink writes the batch at once.
        """
        if self.archive is not None:
            self.companies.fill(event.filings)
            self.archive.add(event.filings)
        filings = self._select(event.filings, event.received)
        if self._held is not None:
            filings = self._hold(filings, event.received)
        return self._show(sink, filings, event.received, event.filings)

    def _select(self, filings: list[Filing], received: float) -> list[Filing]:
        """What of a batch is to be shown: --no-backlog, the filters, the state's skip."""
        if not self.limits.backlog and not self.stream.stats.backlog_complete:
            live = [f for f in filings if not f.is_historical]  # --no-backlog
            self.counters.backlog_skipped += len(filings) - len(live)
            filings = live
        if not all(map(_HISTORICAL, filings)):
            for filing in filings:
                if not filing.is_historical:  # latency counts every live filing received
                    self._measure(filing, received)
        if self._measure_reach and not self.stream.stats.backlog_complete:
            self._note_reach(filings)
        filt = self.filt
        if filt.active:
            shown = filt.select(filings)
            self.counters.filtered += len(filings) - len(shown)
            filings = shown
        skip = self.skip
        if skip is not None:
            new = [f for f in filings if not skip(f.accession_no)]
            self.counters.already_written += len(filings) - len(new)
            filings = new
        return filings

    def _note_reach(self, filings: list[Filing]) -> None:
        oldest = min((f.discovered_time[:19] for f in filings if f.is_historical), default=None)
        if oldest is not None and (self._reach is None or oldest < self._reach):
            self._reach = oldest

    def _hold(self, filings: list[Filing], received: float) -> list[Filing]:
        """-n N: keep the newest N backlog filings until the backlog ends (a live filing
        ends it too); returns what is to be shown now."""
        held = self._held
        assert held is not None and held.maxlen is not None
        live = next((i for i, f in enumerate(filings) if not f.is_historical), len(filings))
        if live:
            self.counters.older += max(0, len(held) + live - held.maxlen)
            held.extend(filings[:live])
            self._held_received = received
        if live == len(filings):
            return []
        return self._release() + filings[live:]

    def _release(self) -> list[Filing]:
        held, self._held = self._held, None
        return list(held or ())

    def _show(
        self, sink: Sink, filings: list[Filing], received: float, batch: list[Filing]
    ) -> bool:
        """Hand ``filings`` to the sink up to --count; True once it is reached. ``batch``:
        the filings received with them (those after the cut are given back to the source)."""
        count = self.limits.count
        done = False
        if count is not None and len(filings) >= count - self.counters.handed:
            rest = filings[count - self.counters.handed :]
            filings = filings[: count - self.counters.handed]
            done = True
            if rest:  # in the batch's order, from the first filing not shown
                self.counters.after_count += len(rest)
                start = next((i for i, f in enumerate(batch) if f is rest[0]), None)
                self.stream.unconsumed(rest if start is None else batch[start:])
        if filings:
            self.counters.handed += len(filings)
            if self.enricher is not None:
                self.enricher.add(filings, received)
                self._let_out(sink, block=False)
            else:
                self._out(sink, filings, received)
        return done

    def _out(self, sink: Sink, filings: list[Filing], received: float) -> None:
        if self.archive is None:  # with an archive, every filing was filled as it came
            self.companies.fill(filings)
        shown = filings
        if self.enricher is not None and self.enricher.text and not self.enricher.full_text:
            shown = [without_full_text(f) for f in filings]  # the archive keeps the whole
        sink.filings(shown, received)
        if self.archive is not None and self.enricher is not None:
            self.archive.add_details(filings)
        if self.alerts is not None:
            self.alerts.deliver(shown)

    def _let_out_at_end(self, sink: Sink, ended: BaseException | None) -> None:
        """The run's end (``ended``: what ended it, None for its own end): every filing still
        waiting for details goes out (see run()). On an error, a failure to write them is not
        allowed to hide the error that ended the run."""
        if ended is None:
            self._let_out(sink, block=True)
            return
        if isinstance(ended, (KeyboardInterrupt, Terminated)):
            self._let_out(sink, block=False, end=True)
            return
        try:
            self._let_out(sink, block=False, end=True)
            sink.flush()
        except OSError:
            pass  # the output is gone too: the error that ended the run is the one said

    def _let_out(self, sink: Sink, block: bool, end: bool = False) -> None:
        """--details: out with the filings whose details are in or whose wait is over (with
        ``block``: all of them, each waiting at most its own wait; with ``end``: all of them
        now), in order."""
        assert self.enricher is not None
        batch: list[Filing] = []
        when = 0.0
        ready = self.enricher.ready(block=block, end=end)
        criteria = self.enricher.criteria
        if criteria is not None:  # --item, --insider-code, --min-value, --sic
            passing = [(f, r) for f, r in ready if criteria.passes(f)]
            self.counters.filtered += len(ready) - len(passing)
            ready = passing
        grep = self.enricher.grep
        if grep is not None:  # --grep: on the whole text, before it is trimmed
            matched = [(grep(f), r) for f, r in ready]
            kept = [(f, r) for f, r in matched if f is not None]
            self.counters.filtered += len(ready) - len(kept)
            ready = kept
        for filing, received in ready:
            if batch and received != when:
                self._out(sink, batch, when)
                batch = []
            batch.append(filing)
            when = received
        if batch:
            self._out(sink, batch, when)

    @property
    def shown(self) -> int:
        """Filings the output took (the sink counts them once flushed: output that could
        not be written, such as to a full disk, is not shown)."""
        return 0 if self.sink is None else self.sink.written

    @property
    def undrawn(self) -> int:
        """Filings of a burst the live table did not draw (``output/table.py``)."""
        return int(getattr(self.sink, "undrawn", 0))

    def _measure(self, filing: Filing, received: float) -> None:
        ms = latency_ms(filing, received)
        self.latency.add(ms)
        if ms < 0 and self.latency.negative == 1:  # the first one only
            self.diag.warn(
                f"negative latency ({ms:.0f} ms): this machine's clock is behind the server's;"
                " consider syncing it with NTP"
            )
        if not self._warned_growing and self.latency.falling_behind(received):
            self._warned_growing = True
            self.diag.warn("latency keeps growing: this client is falling behind the feed")

    def _backlog(self, sink: Sink, event: BacklogComplete) -> bool:
        if event.initial:
            if self._measure_reach:
                self._say_reach()
            if self._held is not None:
                held = self._release()
                if self._show(sink, held, self._held_received, held):
                    return True
            text = f"backlog complete: {event.new} filings"
            passed = self.counters.handed + self.counters.older  # -n cuts after the filters
            if event.new and self.filt.active and self.limits.backlog and not passed:
                text += "; none passed the filters"  # not a quiet day: the filters said no
            self.diag.info(text)
            if self.limits.backlog and not self.limits.backlog_only:
                sink.backlog_complete()
            return self.limits.backlog_only
        self.diag.info(
            f"reconnected: backlog replayed {event.overlap} filings already shown, {event.new} new",
            verbose=event.new == 0,
        )
        return False

    def _say_reach(self) -> None:
        """The first backlog is complete: say how far back it reached (--since, --archive)."""
        self._measure_reach = False
        if self.archive is not None:
            newest, reach = self.archive.newest_before, self._reach
            if gap(self.diag, newest, reach, self.backfill is not None) and self.backfill:
                assert newest is not None and reach is not None  # a gap has both ends
                words = self.enricher is not None and self.enricher.text  # --text asked
                self.archive.fill_gap(self.backfill, newest, reach, self.diag, words)
        if self.filt.since is not None:
            since_reached(self.diag, self.filt.since, self.filt.since_key, self._reach)

    def summary(self) -> str:
        """The exit summary: what was received, shown, left out and why; latency; traffic."""
        return summarise(self)
