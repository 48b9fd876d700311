"""``secfeed ui`` put together: the run on a thread (``feed.py``), the app on this one.

While the app owns the terminal, the run's lines (warnings, information) go to the app's
status bar, not stderr; an error that ends the run ends the app, and is said on stderr once
the terminal is back. SIGINT, SIGTERM and SIGHUP quit the app with their exit codes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from ..common.diagnostics import Stderr
from ..common.settings import DetailsSettings, FromArchive, OutputSettings, RunSettings
from ..errors import ExitCode
from ..feed.connection import CLOSE_WAIT
from .feed import Inbox, start
from .watch import SERVER_PID, Watchdog

if TYPE_CHECKING:
    from ..broker import NatsSettings
    from ..details.edgar import EdgarClient
    from ..feed.links import ConnectOptions
    from ..filtering.filters import FilingFilter
    from ..output import Sink, Status
    from ..run.environment import Environment
    from .app import SecfeedApp


def run_ui(
    connection: ConnectOptions,
    filters: FilingFilter,
    run: RunSettings,
    env: Environment,
    details: DetailsSettings | None = None,
    source: NatsSettings | FromArchive | None = None,
    utc: bool = False,
    capacity: int = 100_000,
    verbose: bool = False,
) -> int:
    served = os.environ.get("TEXTUAL_DRIVER", "").endswith("WebDriver")
    if served:
        die_with_parent()  # first: the imports below take a while
    holder: list[SecfeedApp] = []
    watchdog = Watchdog(partial(_quit, holder)).start()

    from ..details.stage import TextWanted, details_of
    from ..run.environment import Environment
    from ..run.execute import edgar_client, execute
    from ..run.plan import Plan
    from .app import SecfeedApp

    client = None if details is None else edgar_client(details)
    output = OutputSettings(fmt="ui", verbose=verbose, utc=utc)
    inbox = Inbox()

    # While the app owns the terminal, the run's lines go to its status bar, masked with the
    # command's secrets; the warnings found in the options go with them.
    inside = Environment(
        stdout=env.stdout,
        stdout_isatty=env.stdout_isatty,
        warnings=env.warnings,
        stderr=Stderr(env.secrets, capture=inbox.note),
    )

    def feed(view: Callable[[Callable[[], Status]], Sink]) -> int:
        plan = Plan(
            connection=connection,
            filters=filters,
            output=output,
            settings=run,
            source=source,
            details=details,
            view=view,
            edgar=client,
        )
        return execute(plan, inside.output(), inside).code

    wanted = TextWanted() if details is not None and details.text else None
    app = SecfeedApp(
        inbox,
        capacity=capacity,
        utc=utc,
        details=details is not None and (details.enrich or details.text),
        fetch=None if client is None else partial(details_of, client=client, text=wanted),
        grep=() if details is None or details.grep is None else tuple(details.grep.compiled),
        budget=None if client is None or details is None else _budget(client, details),
        handle_signals=True,
        watchdog=watchdog,
    )
    holder.append(app)
    thread = start(feed, inbox)
    try:
        result = app.run()
    finally:
        inbox.quitting = True
        thread.join(CLOSE_WAIT + 5.0)  # the sink stops the run within a tick of the feed
        if client is not None:
            client.close()
    watchdog.stop()
    if app.error is not None:
        env.diagnostics().error(app.error)
    code = app.exit_code if result is None else result
    if inbox.ended is not None and inbox.ended[0] != ExitCode.OK and app.error is None:
        code = code or inbox.ended[0]
    return int(code)


def _quit(holder: list[SecfeedApp], code: int) -> None:
    """The watchdog's way to end the app (from its own thread), once there is one."""
    if not holder:
        return  # still starting: the watchdog's grace ends the process
    app = holder[0]
    try:
        app.call_from_thread(app.quit_with, code)
    except Exception:  # noqa: BLE001 - not running (yet, or any more): the grace ends it
        pass


def die_with_parent() -> None:
    """Under ``--serve`` (a page's app, the server's child): SIGTERM when the server ends,
    however it ends, so that no page's app is left running after it (Linux; elsewhere the
    watchdog sees the parent go). A server that ended before this took hold is seen by the
    watchdog (``watch.py``): the server names its pid."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    served = os.environ.get(SERVER_PID, "")
    if served.isdigit() and os.getppid() != int(served):  # the server ended already
        os.kill(os.getpid(), signal.SIGTERM)


def _budget(client: EdgarClient, details: DetailsSettings) -> Callable[[], str | None]:
    """The status bar's EDGAR part: requests so far and the pace; stopped after a 403/429."""

    def line() -> str | None:
        left = client.blocked_for()
        if left > 0:
            return f"EDGAR stopped (SEC refused): {left / 60:.0f} min"
        return f"EDGAR {client.requests} req · ≤{details.rate:g}/s"

    return line
