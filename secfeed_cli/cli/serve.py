"""`secfeed serve`: the emulator's command-line wiring (the server is in emulator/)."""

from __future__ import annotations

import signal
import sys
from typing import Any

import click

from ..errors import ExitCode, SecfeedError
from .params import DURATION, POSITIVE

SERVE_EPILOG = """\b
Examples:
  secfeed serve --port 8765
  secfeed serve --port 0 --rate 5 --api-key test-key
  secfeed serve --firehose 131072 --rate 100
"""


#: emulator/edgar.py's FAULTS, here so that the CLI starts without importing the emulator.
EDGAR_FAULTS = ("403", "429", "404-first", "slow", "truncated", "malformed")


@click.command(epilog=SERVE_EPILOG)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port to bind (0: pick a free one). The URL is printed on stdout.",
)
@click.option("--api-key", help="Require this key (header, Basic, X-APIKey, ?apikey=, path).")
@click.option(
    "--backlog",
    type=click.IntRange(min=0),
    default=300,
    show_default=True,
    help="Filings each new connection gets first, with is_historical: true.",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Replay the sample at this multiple of real time (0: no live filings).",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0),
    default=None,
    help="Instead of --speed: this many live filings per second (e.g. 0.1, 1000).",
)
@click.option(
    "--max-gap",
    type=DURATION,
    default=30.0,
    show_default=True,
    help="With --speed: the longest pause between two filings, in seconds.",
)
@click.option(
    "--reconnect-every",
    type=DURATION,
    default=None,
    metavar="S",
    help="Send each connection a reconnect message every S seconds.",
)
@click.option(
    "--reconnect-within",
    type=DURATION,
    default=10.0,
    show_default=True,
    metavar="S",
    help="The reconnect window; the connection is closed when it ends.",
)
@click.option(
    "--buffer",
    type=POSITIVE,
    default=131_072,
    show_default=True,
    help="Messages buffered per connection before the overflow error and close.",
)
@click.option(
    "--ping-interval",
    type=DURATION,
    default=60.0,
    show_default=True,
    help="Seconds between WebSocket pings.",
)
@click.option(
    "--heartbeat-interval",
    type=DURATION,
    default=1.0,
    show_default=True,
    metavar="S",
    help="Seconds of silence before a heartbeat (the service: 1).",
)
@click.option(
    "--heartbeat-spelling",
    type=click.Choice(["heartbeat", "hearbeat"]),
    default="heartbeat",
    show_default=True,
    help="Wire type of heartbeats (the sibling APIs spell it 'hearbeat').",
)
@click.option(
    "--sample",
    "sample_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Replay these filings (NDJSON, wire schema) instead of the bundled EDGAR sample.",
)
@click.option(
    "--firehose",
    type=click.IntRange(min=0),
    default=0,
    metavar="N",
    help="Send each connection a backlog of N filings as fast as it reads.",
)
@click.option(
    "--certfile",
    type=click.Path(exists=True, dir_okay=False),
    help="Serve wss:// with this certificate chain (PEM).",
)
@click.option(
    "--keyfile", type=click.Path(exists=True, dir_okay=False), help="Private key for --certfile."
)
@click.option(
    "--fault-drop-after",
    type=click.IntRange(min=0),
    hidden=True,
    help="Cut the TCP connection (no close frame) after N filings.",
)
@click.option(
    "--fault-stall-after",
    type=click.IntRange(min=0),
    hidden=True,
    help="Stop sending anything after N filings, keeping the socket open.",
)
@click.option(
    "--fault-error-after",
    type=click.IntRange(min=0),
    hidden=True,
    help="Send an error message ('Internal server error') and close after N filings.",
)
@click.option(
    "--fault-malformed-every",
    type=POSITIVE,
    hidden=True,
    help="Interleave a malformed frame after every N filings.",
)
@click.option(
    "--fault-refuse-after",
    type=click.IntRange(min=0),
    hidden=True,
    help="Answer HTTP 503 to every upgrade after the first N.",
)
@click.option(
    "--fault-connections",
    type=POSITIVE,
    hidden=True,
    help="Apply faults only to the first K connections.",
)
@click.option(
    "--edgar",
    is_flag=True,
    help="Play EDGAR too: real documents at their paths on this port, those filings in the feed.",
)
@click.option(
    "--edgar-fault",
    type=click.Choice(EDGAR_FAULTS),
    help="EDGAR misbehaves: SEC's 403 page, 429, a 404 before each document appears, slow,"
    " truncated, malformed XML (implies --edgar).",
)
@click.option(
    "--edgar-indexes",
    type=click.Path(exists=True, file_okay=False),
    help="Play EDGAR's indexes for --backfill from the files in DIR: latest-filings feed pages"
    " named getcurrent-startNNNN.xml, daily form indexes named form.YYYYMMDD.idx.",
    metavar="DIR",
)
@click.option("-q", "--quiet", is_flag=True, help="Do not log connections on stderr.")
def serve(**opts: Any) -> int:
    """Run a local emulator of the FinFeedAPI SEC WebSocket, with real sample filings."""
    import asyncio

    from ..emulator.runner import serve_forever
    from ..emulator.server import EmulatorConfig

    if opts["keyfile"] and not opts["certfile"]:
        raise click.UsageError("--keyfile needs --certfile")
    ctx = click.get_current_context()
    speed_given = ctx.get_parameter_source("speed") is not click.core.ParameterSource.DEFAULT
    if opts["rate"] is not None and speed_given:
        raise click.UsageError(
            "--rate and --speed exclude each other: --speed replays the sample's own pace,"
            " --rate sets one of its own"
        )
    config = EmulatorConfig(
        host=opts["host"],
        port=opts["port"],
        api_key=opts["api_key"],
        backlog=opts["backlog"],
        speed=opts["speed"],
        rate=opts["rate"],
        max_gap=opts["max_gap"],
        reconnect_every=opts["reconnect_every"],
        reconnect_within=opts["reconnect_within"],
        buffer=opts["buffer"],
        ping_interval=opts["ping_interval"],
        heartbeat_spelling=opts["heartbeat_spelling"],
        heartbeat_interval=opts["heartbeat_interval"],
        firehose=opts["firehose"],
        sample_path=opts["sample_path"],
        certfile=opts["certfile"],
        keyfile=opts["keyfile"],
        drop_after=opts["fault_drop_after"],
        stall_after=opts["fault_stall_after"],
        error_after=opts["fault_error_after"],
        malformed_every=opts["fault_malformed_every"],
        fault_connections=opts["fault_connections"],
        refuse_after=opts["fault_refuse_after"],
        edgar=opts["edgar"] or opts["edgar_fault"] is not None,
        edgar_fault=opts["edgar_fault"],
        edgar_indexes=opts["edgar_indexes"],
    )

    def ready(emulator: Any) -> None:
        click.echo(emulator.url)
        sys.stdout.flush()
        if not opts["quiet"]:
            click.echo(
                f"secfeed serve: listening on {emulator.url} "
                f"({len(emulator.feed.sample)} sample filings)",
                err=True,
            )

    try:
        signum = asyncio.run(serve_forever(config, ready, quiet=opts["quiet"]))
    except ValueError as exc:  # a bad --sample file
        raise click.UsageError(str(exc)) from None
    except OSError as exc:
        raise SecfeedError(
            f"cannot listen on {opts['host']}:{opts['port']}: {exc.strerror}"
        ) from None
    return ExitCode.TERMINATED if signum == signal.SIGTERM else ExitCode.INTERRUPTED
