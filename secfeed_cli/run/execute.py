"""``execute``: one command's :class:`~.plan.Plan` carried out: the source (the feed, NATS or
an archive), the sink (an output, the relay or the ui), alerts, details and the state; the
outcome, and the summary on stderr.

No click here: ``cli/`` turns options into settings and maps the outcome to an exit code.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING, NamedTuple

from msgspec.structs import replace

from ..common.diagnostics import Diagnostics, stderr_is_terminal
from ..common.settings import DetailsSettings, FromArchive, OutputSettings
from ..companies.lookup import Companies
from ..errors import (
    ArchiveError,
    ExitCode,
    Interrupted,
    OutputError,
    Terminated,
    closed_pipe,
    write_failed,
)
from ..feed.events import Source
from ..feed.links import ConnectOptions
from ..feed.stream import Stream
from ..output import Output, Sink, make_sink
from .environment import Environment
from .loop import Run
from .plan import Plan

if TYPE_CHECKING:
    from ..alerts import Alerts
    from ..archive.writer import ArchiveWriter
    from ..common.files import State
    from ..details.edgar import EdgarClient
    from ..details.stage import Enricher
    from ..wire.details import Details
    from ..wire.filing import Filing


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


def execute(plan: Plan, out: Output, env: Environment) -> Outcome:
    """Carry out ``plan``, writing into ``out``; the exit code, the filings written and those
    the state had already written.

    The run's parts are opened in order (the archive first: a problem with it is one line,
    before connecting) into one ``ExitStack``, and closed in reverse whatever ends the run:
    the sink, the details stage, the alerts (hooks at work get --exit-grace), the summary,
    the archive (what is queued is written; a failure is exit 7, or a warning when something
    else already ends the run).
    """
    connection, output = plan.connection, plan.output
    if output.verbose and not connection.trace:
        connection = replace(connection, trace=True)
    diag = env.diagnostics(quiet=output.quiet, verbose=output.verbose, chatty=plan.chatty)
    for line in env.warnings:  # found while the options were read: said once, now
        diag.warn(line)
    env.warnings.clear()
    ended = _Ended()
    with ExitStack() as parts:
        archive = None
        if plan.settings.archive is not None:
            from ..archive.writer import ArchiveWriter

            archive = ArchiveWriter(plan.settings.archive)
            parts.push(_archive_closer(archive, diag))
        feed = _feed(connection, plan)
        acting = None
        if plan.alerts is not None and plan.alerts.active:
            from ..alerts import Alerts

            acting = Alerts(plan.alerts, diag)
        parts.callback(_summary, diag, output, ended, acting)
        if acting is not None:
            parts.callback(acting.close)
        ui = output.fmt == "ui"
        edgar, enricher = _edgar(plan.details, plan.edgar, live=output.fmt == "table", ui=ui)
        if enricher is not None:
            output = replace(output, details=True)
            parts.callback(_close_enricher, enricher, diag)
        elif edgar is not None:
            parts.callback(edgar.close)
        state = plan.state
        run = Run(
            feed,
            plan.filters,
            plan.settings,
            diag,
            skip=None if state is None else state.__contains__,
            alerts=acting,
            checkpoint=None if state is None or not plan.checkpoint else _checkpoint(state, diag),
            enricher=enricher,
            archive=archive,
            companies=Companies(warn=diag.warn),
            backfill=edgar if plan.details is not None and plan.details.backfill else None,
        )
        ended.run = run
        sink = _sink(plan, output, out, run, diag)
        parts.callback(_close_sink, sink, ended)
        late = getattr(sink, "late", None)
        if enricher is not None and late is not None:  # the ui: a row shown, then its details
            enricher.late = late
        try:
            ended.code = run.run(sink)
            sink.close()  # the last flush can fail too (disk full, closed pipe)
            ended.closed = True
            return Outcome(ended.code, sink.written, run.counters.already_written)
        except OSError as exc:
            if not closed_pipe(exc):
                raise write_failed(exc) from None
            ended.broken = True
            silence_stdout()
            if not plan.pipe_may_close:
                raise OutputError(
                    "the output pipe closed before the snapshot was complete"
                ) from None
            return Outcome(ExitCode.OK, sink.written, run.counters.already_written)
        except KeyboardInterrupt:
            ended.code = ExitCode.INTERRUPTED
            raise Interrupted() from None
        except Terminated as exc:
            ended.code = exc.exit_code
            raise
    raise AssertionError("unreachable")  # pragma: no cover - the block returns or raises


class _Ended:
    """How the run ended, for the parts that close after it (the summary, the sink)."""

    def __init__(self) -> None:
        self.code: int = ExitCode.ERROR
        self.closed = False  # the sink is closed
        self.broken = False  # the output pipe closed
        self.run: Run | None = None


def _sink(plan: Plan, output: OutputSettings, out: Output, run: Run, diag: Diagnostics) -> Sink:
    """Where the run's filings go: the relay, the ui's view, or an output."""
    if plan.relay is not None:
        from ..broker.relay import RelaySink

        relay = replace(plan.relay, connect_timeout=plan.connection.connect_timeout)
        status_line = stderr_is_terminal() and not output.quiet
        return RelaySink(relay, diag, terminal=status_line)
    if plan.view is not None:
        return plan.view(run.status)
    state = plan.state
    return make_sink(
        output,
        out,
        run.status,
        None if state is None else state.add,
        terminal=plan.terminal,
        alerts=plan.alerts,
        color=plan.color,
        stderr=diag.stderr,
    )


def _close_sink(sink: Sink, ended: _Ended) -> None:
    """Unless the run closed it: a sink closed on a signal or an error (what is held is
    written, if it can be)."""
    if ended.closed or ended.broken:
        return
    try:
        sink.close()
    except OSError:
        silence_stdout()
        ended.broken = True


def _summary(
    diag: Diagnostics, output: OutputSettings, ended: _Ended, acting: Alerts | None
) -> None:
    """The run's last lines: its summary when asked for or when it matters (a failure, rows
    of a burst the table left undrawn), then the alerts'."""
    run = ended.run
    if run is not None and not ended.broken:
        if output.latency or output.verbose or ended.code != ExitCode.OK or run.undrawn:
            diag.info(run.summary())
    if acting is not None:
        for line in acting.summaries():
            diag.info(line)


def _close_enricher(enricher: Enricher, diag: Diagnostics) -> None:
    enricher.close()
    diag.info(enricher.summary(), verbose=True)


def _archive_closer(
    archive: ArchiveWriter, diag: Diagnostics
) -> Callable[[type[BaseException] | None, BaseException | None, object], bool]:
    """The archive closes last, also on a signal or an error (what was received is kept). A
    failure to write it is the run's error (exit 7) when nothing else ended the run, else a
    warning: the error said is the one that stopped the run."""

    def close(kind: type[BaseException] | None, stopping: BaseException | None, _: object) -> bool:
        try:
            archive.close()
        except ArchiveError as exc:
            if stopping is None:
                raise
            if not isinstance(stopping, ArchiveError):  # said once, by what stops it
                diag.warn(str(exc))
        finally:
            diag.info(archive.summary(), verbose=True)
        return False

    return close


def _feed(connection: ConnectOptions, plan: Plan) -> Source:
    """Where the run's filings come from: FinFeedAPI, a NATS stream, or an archive."""
    source, settings = plan.source, plan.settings
    if isinstance(source, FromArchive):
        from ..archive.source import ArchiveSource

        return ArchiveSource(source.path, backlog=settings.backlog)
    if source is not None:
        from ..broker.source import NatsSource

        source = replace(source, connect_timeout=connection.connect_timeout)
        return NatsSource(source, backlog=settings.backlog, deadline=connection.deadline)
    return Stream(connection, keep_frames=plan.output.raw, settle=settings.settle)


#: How long a filing waits for its details in the live table by default: its rows go into
#: the terminal's scrollback and cannot change, so a person sees the row within 5 s, with
#: ``deferred`` if EDGAR is slower. The ui shows a row at once and updates it when its details
#: come (5 s too when a filter waits for them). Elsewhere (NDJSON, CSV, JSON, a snapshot, the
#: relay, the archive) the output waits until every filing's details are in, in order.
LIVE_WAIT = 5.0


def _edgar(
    details: DetailsSettings | None,
    given: EdgarClient | None = None,
    live: bool = False,
    ui: bool = False,
) -> tuple[EdgarClient | None, Enricher | None]:
    """One EDGAR client (so one pace) for --details, --backfill and the ui's details on
    demand (``given``), and the details stage."""
    if details is None or not (details.enrich or details.backfill or details.text):
        return given, None
    from ..details.stage import DETAILS_KINDS, TEXT_KINDS, Enricher, TextWanted, details_of

    edgar = given or edgar_client(details)
    if not (details.enrich or details.text):
        return edgar, None
    wanted = TextWanted() if details.text else None

    def fetch(filing: Filing, client: EdgarClient) -> Details:
        return details_of(filing, client, wanted)

    kinds = (DETAILS_KINDS if details.enrich else frozenset()) | (
        TEXT_KINDS if details.text else frozenset()
    )
    wait = details.wait if details.wait is not None else math.inf
    if details.wait is None and ui:
        # A row at once, its details when they come (Enricher.late), unless a filter waits
        # for them: then it cannot be shown before they are in.
        wait = LIVE_WAIT if details.criteria is not None or details.grep is not None else 0.0
    elif details.wait is None and live:
        wait = LIVE_WAIT
    enricher = Enricher(edgar, wait, fetch=fetch, criteria=details.criteria, kinds=kinds)
    enricher.grep = details.grep
    enricher.text = details.text
    enricher.full_text = details.text_full or ui  # the ui's pane shows it all, "/" matches it
    return edgar, enricher


def edgar_client(details: DetailsSettings) -> EdgarClient:
    from pathlib import Path

    from ..details.edgar import EdgarClient

    return EdgarClient(
        details.user_agent,
        base_url=details.edgar_url,
        rate=details.rate,
        cache=None if details.cache is None else Path(details.cache),
    )


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
