"""``execute``: one command's run, put together: the source (the feed or NATS), the sink (an
output, or the relay), alerts and the state; the outcome, and the summary on stderr.

No click here: ``cli/`` turns options into settings and maps the outcome to an exit code.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from msgspec.structs import replace

from ..common import config
from ..common.diagnostics import Diagnostics, stderr_is_terminal
from ..common.redact import add_secret
from ..common.settings import (
    AlertSettings,
    DetailsSettings,
    FromArchive,
    OutputSettings,
    RunSettings,
)
from ..companies import tickers
from ..errors import (
    ArchiveError,
    ExitCode,
    Interrupted,
    OutputError,
    Terminated,
    closed_pipe,
    write_failed,
)
from ..feed.events import (
    Source,
)
from ..feed.links import ConnectOptions
from ..feed.stream import Stream
from ..filtering.filters import FilingFilter
from ..output import Output, Sink, Status, make_sink

if TYPE_CHECKING:
    from ..broker import NatsSettings
    from ..common.files import State
    from ..details.edgar import EdgarClient
    from ..details.stage import Enricher

from .loop import Run


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
    color: bool = False,
    chatty: bool = True,
    alerts: AlertSettings | None = None,
    source: NatsSettings | FromArchive | None = None,
    relay: NatsSettings | None = None,
    state: State | None = None,
    details: DetailsSettings | None = None,
    view: Callable[[Callable[[], Status]], Sink] | None = None,
    edgar: EdgarClient | None = None,
) -> Outcome:
    """One run into ``out``; returns the exit code, the filings written and those the
    snapshot state had already written (``skip``).

    A closed downstream pipe ends a tail quietly (exit 0); for a snapshot
    (``pipe_may_close=False``) it is an error, since the snapshot was not delivered whole.
    ``terminal``: ``out`` is a terminal (the table is then the live one; ``color``: in
    colour). ``chatty=False``: information lines only with -v (see :class:`Diagnostics`).
    ``source``: read a NATS JetStream stream or an archive instead of FinFeedAPI
    (``--from``); ``relay``: publish into a NATS stream instead of writing ``out``
    (``secfeed relay``); ``view``: make the sink from the run's status instead (``secfeed
    ui``), with ``edgar`` the EDGAR client it shares with ``--details`` (one pace);
    ``settings.archive``: keep every filing received (``--archive``).
    ``state``: ``tail --state``, locked and loaded: what it holds is skipped, and what the
    output took is saved into it as the run goes.
    """
    add_secret(connection.api_key)  # however the settings were made (options do it too)
    if output.verbose and not connection.trace:
        connection = replace(connection, trace=True)
    diag = Diagnostics(quiet=output.quiet, verbose=output.verbose, chatty=chatty)
    while config.warnings:  # each once, also when one process runs several commands (tests)
        diag.warn(config.warnings.pop(0))
    tickers.warn = diag.warn  # the CIK map loads on the first filing
    archive = None
    if settings.archive is not None:  # opened first: a problem with it is one line, now
        from ..archive.writer import ArchiveWriter

        archive = ArchiveWriter(settings.archive)
    try:
        feed = _feed(connection, output, settings, source)
    except BaseException:
        if archive is not None:
            archive.close()
        raise
    acting = None
    if alerts is not None and alerts.active:
        from ..alerts import Alerts

        acting = Alerts(alerts, diag.warn, diag.echo)
    checkpoint = None
    if state is not None:
        skip, record = state.__contains__, state.add
        checkpoint = _checkpoint(state, diag)
    edgar, enricher = _edgar(details, edgar)
    if enricher is not None:
        output = replace(output, details=True)
    run = Run(
        feed,
        filters,
        settings,
        diag,
        skip=skip,
        alerts=acting,
        checkpoint=checkpoint,
        enricher=enricher,
        archive=archive,
        backfill=edgar if details is not None and details.backfill else None,
    )
    sink: Sink
    if relay is not None:
        from ..broker.relay import RelaySink

        relay = replace(relay, connect_timeout=connection.connect_timeout)
        status_line = stderr_is_terminal() and not output.quiet
        sink = RelaySink(relay, diag.warn, diag.info, terminal=status_line)
    elif view is not None:
        sink = view(run.status)
    else:
        sink = make_sink(
            output, out, run.status, record, terminal=terminal, alerts=alerts, color=color
        )
    code: int = ExitCode.ERROR
    broken = closed = False
    try:
        code = run.run(sink)
        sink.close()  # the last flush can fail too (disk full, closed pipe)
        closed = True
        if archive is not None:
            archive.close()  # what is queued is written; a failure is exit 7
        return Outcome(code, sink.written, run.counters.already_written)
    except OSError as exc:
        if not closed_pipe(exc):
            raise write_failed(exc) from None
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
        failed = None
        if archive is not None:
            stopping = sys.exc_info()[1]
            try:
                archive.close()  # also on a signal or an error: what was received is kept
            except ArchiveError as exc:
                if stopping is None:
                    failed = exc  # raised once the rest is closed
                elif not isinstance(stopping, ArchiveError):  # said once, by what stops it
                    diag.warn(str(exc))
            diag.info(archive.summary(), verbose=True)
        if acting is not None:
            acting.close()  # hooks at work get --exit-grace, then are killed
        # The summary also when the table left rows of a burst undrawn: it says how many.
        if not broken and (output.latency or output.verbose or code != ExitCode.OK or run.undrawn):
            diag.info(run.summary())
        if acting is not None:
            for line in acting.summaries():
                diag.info(line)
        if enricher is not None:
            enricher.close()
            diag.info(enricher.summary(), verbose=True)
        elif edgar is not None:
            edgar.close()
        if failed is not None:
            raise failed


def _feed(
    connection: ConnectOptions,
    output: OutputSettings,
    settings: RunSettings,
    source: NatsSettings | FromArchive | None,
) -> Source:
    """Where the run's filings come from: FinFeedAPI, a NATS stream, or an archive."""
    if isinstance(source, FromArchive):
        from ..archive.source import ArchiveSource

        return ArchiveSource(source.path, backlog=settings.backlog)
    if source is not None:
        from ..broker.source import NatsSource

        source = replace(source, connect_timeout=connection.connect_timeout)
        return NatsSource(source, backlog=settings.backlog, deadline=connection.deadline)
    return Stream(connection, keep_frames=output.raw)


def _edgar(
    details: DetailsSettings | None, given: EdgarClient | None = None
) -> tuple[EdgarClient | None, Enricher | None]:
    """One EDGAR client (so one pace) for --details, --backfill and the ui's details on
    demand (``given``), and the details stage."""
    if details is None or not (details.enrich or details.backfill):
        return given, None
    from ..details.stage import Enricher

    edgar = given or edgar_client(details)
    if not details.enrich:
        return edgar, None
    return edgar, Enricher(edgar, details.wait, criteria=details.criteria)


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
