"""One run of ``tail``: the stream's events through the filter into a sink, with limits.

No click here: ``cli/`` turns options into these objects and maps the outcome to an exit code.
"""

from __future__ import annotations

import errno
import math
import operator
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

import msgspec
from msgspec.structs import replace

from ..companies import tickers
from ..errors import ConnectFailed, ExitCode, Interrupted, OutputError, Terminated
from ..feed.connection import ConnectOptions
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
from ..feed.stream import Stream
from ..filtering.filters import FilingFilter
from ..output import Output, Sink, Status, make_sink
from ..output.latency import LatencyStats
from ..output.records import latency_ms
from ..wire.filing import Filing
from . import config
from .diagnostics import Diagnostics, stderr_is_terminal
from .redact import add_secret
from .settings import AlertSettings, OutputSettings, RunSettings
from .signals import writes_complete

if TYPE_CHECKING:
    from ..alerts import Alerts
    from ..broker import NatsSettings
    from .files import State

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
        self._measure_reach = filt.since is not None and limits.backlog

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
            if isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE:
                raise
            raise OutputError(f"cannot write output: {exc.strerror or exc}") from None
        finally:
            settled = False
            try:
                # The last lines go out before the close handshake; on an orderly stop by a
                # signal too, so that a source that acknowledges (NATS) can settle exactly
                # what the run handled (a signal never lands inside that: see run()).
                stopped = sys.exc_info()[1]
                if stopped is None or isinstance(stopped, (KeyboardInterrupt, Terminated)):
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
            sink.filings(filings, received)
            self.counters.handed += len(filings)
            if self.alerts is not None:
                self.alerts.deliver(filings)
        return done

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
            if event.new and self.filt.active and self.limits.backlog and not self.counters.handed:
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
        """--since: say when the backlog does not reach back that far."""
        since = self.filt.since
        assert since is not None
        self._measure_reach = False
        asked = f"--since {since.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        if self._reach is None:
            self.diag.info(f"the backlog is empty: nothing from before now ({asked})")
        elif self._reach > self.filt.since_key:
            self.diag.warn(
                f"the backlog reaches back only to {self._reach}Z, not to {asked}: filings"
                " discovered in between are not in it"
            )

    def summary(self) -> str:
        stats = self.stream.stats
        c = self.counters
        lat = self.latency.summary()
        parts = [
            f"{stats.received} filings received",
            f"{self.shown} {getattr(self.sink, 'verb', 'shown')}",
            f"{c.filtered} filtered out",
            f"{stats.malformed} malformed skipped",
            f"{stats.duplicates} duplicates skipped",
        ]
        if self.undrawn:
            parts.append(f"{self.undrawn} not drawn (a burst faster than a terminal can show)")
        if self.skip is not None:
            parts.append(f"{c.already_written} already written")
        if c.backlog_skipped:
            parts.append(f"{c.backlog_skipped} backlog filings skipped (--no-backlog)")
        if c.older:
            parts.append(f"{c.older} older backlog filings not shown (-n {self.limits.lines})")
        if c.after_count:
            parts.append(f"{c.after_count} not shown (--count reached)")
        text = ", ".join(parts)
        if lat.count and not math.isnan(lat.p50):
            text += f"; live latency {lat}"
        if self.diag.verbose and stats.bytes:
            n = stats.connections
            text += (
                f"; read {stats.frames:,} frames, {stats.bytes:,} bytes over {n}"
                f" connection{'s' if n != 1 else ''}"
            )
        return text


class Outcome(NamedTuple):
    code: int
    written: int  # filings the output took
    already_written: int  # filings the snapshot state skipped


def silence_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the interpreter's final flush is quiet.

    This follows the "Note on SIGPIPE" in the Python documentation of the signal module.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def execute(
    connection: ConnectOptions,
    filters: FilingFilter,
    output: OutputSettings,
    settings: RunSettings,
    out: Output,
    skip: Callable[[str], bool] | None = None,
    record: Callable[[str], None] | None = None,
    pipe_may_close: bool = True,
    terminal: bool = False,
    chatty: bool = True,
    alerts: AlertSettings | None = None,
    source: NatsSettings | None = None,
    relay: NatsSettings | None = None,
    state: State | None = None,
) -> Outcome:
    """One run into ``out``; returns the exit code, the filings written and those the
    snapshot state had already written (``skip``).

    A closed downstream pipe ends a tail quietly (exit 0); for a snapshot
    (``pipe_may_close=False``) it is an error, since the snapshot was not delivered whole.
    ``terminal``: ``out`` is a terminal (the table is then the live one). ``chatty=False``:
    information lines only with -v (see :class:`Diagnostics`). ``source``: read a NATS
    JetStream stream instead of FinFeedAPI (``--from``); ``relay``: publish into one instead
    of writing ``out`` (``secfeed relay``). ``state``: ``tail --state``, locked and loaded:
    what it holds is skipped, and what the output took is saved into it as the run goes.
    """
    add_secret(connection.api_key)  # however the settings were made (options do it too)
    if output.verbose and not connection.trace:
        connection = replace(connection, trace=True)
    diag = Diagnostics(quiet=output.quiet, verbose=output.verbose, chatty=chatty)
    while config.warnings:  # each once, also when one process runs several commands (tests)
        diag.warn(config.warnings.pop(0))
    tickers.warn = diag.warn  # the CIK map loads on the first filing
    acting = None
    if alerts is not None and alerts.active:
        from ..alerts import Alerts

        acting = Alerts(alerts, diag.warn, diag.echo)
    feed: Source
    if source is not None:
        source = replace(source, connect_timeout=connection.connect_timeout)
        from ..broker.source import NatsSource

        feed = NatsSource(source, backlog=settings.backlog, deadline=connection.deadline)
    else:
        feed = Stream(connection, keep_frames=output.raw)
    checkpoint = None
    if state is not None:
        skip, record = state.__contains__, state.add
        checkpoint = _checkpoint(state, diag)
    run = Run(feed, filters, settings, diag, skip=skip, alerts=acting, checkpoint=checkpoint)
    sink: Sink
    if relay is not None:
        from ..broker.relay import RelaySink

        relay = replace(relay, connect_timeout=connection.connect_timeout)
        status_line = stderr_is_terminal() and not output.quiet
        sink = RelaySink(relay, diag.warn, diag.info, terminal=status_line)
    else:
        sink = make_sink(output, out, run.status, record, terminal=terminal, alerts=alerts)
    code: int = ExitCode.ERROR
    broken = closed = False
    try:
        code = run.run(sink)
        sink.close()  # the last flush can fail too (disk full, closed pipe)
        closed = True
        return Outcome(code, sink.written, run.counters.already_written)
    except OSError as exc:
        if not (isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE):
            raise OutputError(f"cannot write output: {exc.strerror or exc}") from None
        broken = True
        silence_stdout()
        if not pipe_may_close:
            raise OutputError("the output pipe closed before the snapshot was complete") from None
        return Outcome(ExitCode.OK, sink.written, run.counters.already_written)
    except KeyboardInterrupt:
        code = ExitCode.INTERRUPTED
        raise Interrupted() from None
    except Terminated as exc:
        code = exc.exit_code
        raise
    finally:
        if not broken and not closed:
            try:
                sink.close()
            except OSError:
                silence_stdout()
                broken = True
        if acting is not None:
            acting.close()  # hooks at work get a short grace period, then are killed
        # The summary also when the table left rows of a burst undrawn: it says how many.
        if not broken and (output.latency or output.verbose or code != ExitCode.OK or run.undrawn):
            diag.info(run.summary())
        if acting is not None:
            for line in acting.summaries():
                diag.info(line)


def _checkpoint(state: State, diag: Diagnostics) -> Callable[[], None]:
    """Save ``state`` when it has news; a failure is a warning (once per cause), as the output
    itself is out: a restart would print those filings again, nothing is lost."""

    def save() -> None:
        if not state.dirty:
            return
        try:
            state.save()
        except OutputError as exc:
            diag.warn(
                f"cannot save the state ({exc}): a restart would print these filings again",
                once=f"state:{exc}",
            )

    return save
