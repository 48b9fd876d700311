"""``secfeed ui``: tail's feed in a Textual app with keys (``ui/``); ``--serve``: in a browser."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from ..common.settings import DetailsSettings, FromArchive, RunSettings
from ..extras import install_hint
from .connection_options import connection_options
from .details_options import details_options
from .groups import apply_all
from .help import UI_EPILOG, UI_EXAMPLES, GroupedCommand
from .nats_options import source_options
from .options import filter_options, run_options

if TYPE_CHECKING:
    from ..broker import NatsSettings
    from ..feed.links import ConnectOptions
    from ..filtering.filters import FilingFilter

INSTALL = install_hint("ui")


#: ui's own options (the rest are tail's groups).
ui_options = apply_all(
    [
        click.option("--utc", is_flag=True, help="Times in UTC, not this machine's local time."),
        click.option(
            "--buffer",
            type=click.IntRange(min=100),
            default=100_000,
            show_default=True,
            metavar="N",
            help="ui: the list keeps the newest N filings (the oldest leave it).",
        ),
        click.option(
            "--serve",
            "serve_port",
            type=click.IntRange(0, 65535),
            is_flag=False,
            flag_value=8000,
            default=None,
            metavar="[PORT]",
            help="ui: serve the app to a web browser on PORT (8000) instead of this"
            " terminal (needs textual-serve).",
        ),
        click.option(
            "--serve-host",
            default="127.0.0.1",
            show_default=True,
            metavar="HOST",
            help="ui --serve: the address to listen on (another than 127.0.0.1 lets"
            " other machines in).",
        ),
        click.option("-v", "--verbose", is_flag=True, help="More detail in the status bar."),
    ]
)


@click.command(cls=GroupedCommand, examples=UI_EXAMPLES, epilog=UI_EPILOG)
@connection_options
@filter_options
@run_options
@details_options
@source_options
@ui_options
def ui(
    connection: ConnectOptions,
    filters: FilingFilter,
    run: RunSettings,
    details: DetailsSettings | None,
    source: NatsSettings | FromArchive | None,
    utc: bool,
    buffer: int,
    serve_port: int | None,
    serve_host: str,
    verbose: bool,
) -> int:
    """The feed in a window of its own: pause, filter as you type, details, open (keys: ?)."""

    from . import _backfill_needs_archive, _no_details_from_nats
    from .groups import environment

    _no_details_from_nats(details, source)
    _backfill_needs_archive(details, run.archive)
    need_textual()
    if serve_port is not None:
        from ..ui.serve import serve_ui

        return serve_ui(sys.argv[1:], serve_host, serve_port)
    terminal_ready()
    from ..ui.main import run_ui

    return run_ui(
        connection,
        filters,
        run,
        environment(),
        details=details,
        source=source,
        utc=utc,
        capacity=buffer,
        verbose=verbose,
    )


def terminal_ready() -> None:
    """``secfeed ui`` (and ``demo --ui``) draw in this terminal: Textual there, and a
    terminal on stdin and stderr (Textual's web driver, under ``--serve``, needs neither)."""
    from ..common.diagnostics import is_terminal

    need_textual()
    if not os.environ.get("TEXTUAL_DRIVER") and not (
        is_terminal(sys.stdin) and is_terminal(sys.stderr)
    ):
        raise click.UsageError(
            "secfeed ui draws on a terminal (through stderr) and reads its keys (stdin): run"
            " it in one (for a pipe: secfeed tail; for a browser: secfeed ui --serve)"
        )


def need_textual() -> None:
    """Textual is the optional extra ``secfeed-cli[ui]``: without it, one line and exit 2."""
    try:
        import textual  # noqa: F401
    except ImportError:
        raise click.UsageError(
            f"secfeed ui needs Textual, part of the optional extra: {INSTALL}"
        ) from None
