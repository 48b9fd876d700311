"""Command-line wiring: click commands and shared option decorators. No protocol or rendering.

Heavy modules (rich, websocket-client, websockets, the emulator) are imported inside the
commands, so ``secfeed --version`` and ``--help`` start fast.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click

from .errors import ExitCode, Interrupted, SecfeedError, Terminated

F = TypeVar("F", bound=Callable[..., Any])

EXIT_CODES_HELP = """\b
Exit status:
  0    done (--count, --duration, --backlog-only complete; downstream pipe closed)
  1    internal error, or output cannot be written (e.g. disk full)
  2    usage error (bad option or config)
  3    the API key was rejected
  4    could not connect, gave up reconnecting, or the connection ended (--no-reconnect)
  5    the server reported another error (--no-reconnect)
  130  interrupted (Ctrl-C); 143 terminated (SIGTERM)"""

LOOPBACK = ("127.", "localhost", "::1", "[::1]")


def _version() -> str:
    try:
        return version("secfeed")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"


# ---- parameter types ----------------------------------------------------------------------


class WsUrl(click.ParamType[str, Any]):
    name = "URL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        parts = urlsplit(text)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            self.fail(f"{text!r} is not a ws:// or wss:// URL with a host", param, ctx)
        try:
            parts.port  # noqa: B018 - validates the port
        except ValueError:
            self.fail(f"{text!r} has an invalid port", param, ctx)
        return text


class FormPattern(click.ParamType[str, Any]):
    """Form globs, comma-separated: ``8-K``, ``10-K*``, ``SCHEDULE 13*``."""

    name = "FORM"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from .filters import split_patterns

        text = str(value)
        patterns = split_patterns([text])
        if not patterns:
            self.fail(f"{text!r} names no form", param, ctx)
        for p in patterns:
            if not all(ch.isalnum() or ch in " -/*?[]!._" for ch in p) or not p.isascii():
                self.fail(
                    f"{p!r} is not a form pattern (letters, digits, - / . and globs * ? [])",
                    param,
                    ctx,
                )
        return text

    def shell_complete(
        self, ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[click.shell_completion.CompletionItem]:
        from click.shell_completion import CompletionItem

        from .forms import COMMON_FORMS

        return [CompletionItem(f) for f in COMMON_FORMS if f.upper().startswith(incomplete.upper())]


class Cik(click.ParamType[int, Any]):
    name = "CIK"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        from .filters import parse_cik

        try:
            return parse_cik(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


POSITIVE = click.IntRange(min=1)
SECONDS = click.FloatRange(min=0, min_open=True)


# ---- shared options -----------------------------------------------------------------------


def _apply(options: list[Callable[[F], F]]) -> Callable[[F], F]:
    def decorator(f: F) -> F:
        for option in reversed(options):
            f = option(f)
        return f

    return decorator


def connection_options(f: F) -> F:
    from .stream import DEFAULT_URL

    return _apply(
        [
            click.option(
                "--url",
                type=WsUrl(),
                default=DEFAULT_URL,
                show_default=True,
                envvar="SECFEED_URL",
                show_envvar=True,
                help="WebSocket endpoint.",
            ),
            click.option(
                "--api-key",
                envvar="FINFEED_API_KEY",
                show_envvar=True,
                help="FinFeedAPI key (never printed). Optional for ws:// and loopback URLs.",
            ),
            click.option(
                "--key-in",
                type=click.Choice(["header", "query"]),
                default="header",
                show_default=True,
                help="Send the key as the 'Authorization' header or as '?apikey='.",
            ),
            click.option(
                "--heartbeat/--no-heartbeat",
                default=True,
                show_default=True,
                help="Ask for heartbeats (hello) and watch them to detect dead connections.",
            ),
            click.option(
                "--stall-timeout",
                type=SECONDS,
                default=5.0,
                show_default=True,
                metavar="S",
                help="With heartbeats: no frame for S seconds = dead; reconnect.",
            ),
            click.option(
                "--reconnect/--no-reconnect",
                default=True,
                show_default=True,
                help="Reconnect with backoff when the connection ends (else exit 4).",
            ),
            click.option(
                "--max-retries",
                type=click.IntRange(min=0),
                default=None,
                metavar="N",
                help="Give up after N failed connection attempts in a row (exit 4).",
            ),
            click.option(
                "--ca-bundle",
                type=click.Path(exists=True, dir_okay=False),
                envvar="SSL_CERT_FILE",
                help="CA certificates to trust for wss:// (PEM).",
            ),
            click.option(
                "--proxy",
                metavar="URL",
                envvar="HTTPS_PROXY",
                help="HTTP CONNECT proxy, e.g. http://proxy:3128.",
            ),
        ]
    )(f)


def filter_options(f: F) -> F:
    return _apply(
        [
            click.option(
                "--form",
                "forms",
                type=FormPattern(),
                multiple=True,
                help="Only these forms: repeatable, comma-separated, case-insensitive globs"
                " (8-K, '10-K*'). An amendment matches its base form (8-K/A for 8-K).",
            ),
            click.option(
                "--exclude-form",
                "exclude_forms",
                type=FormPattern(),
                multiple=True,
                help="Leave out these forms (same rules as --form).",
            ),
            click.option(
                "--cik",
                "ciks",
                type=Cik(),
                multiple=True,
                help="Only filings of this CIK (repeatable; leading zeros allowed).",
            ),
            click.option(
                "--no-amendments",
                is_flag=True,
                help="A pattern matches amendments (/A) only if it matches them itself.",
            ),
        ]
    )(f)


def output_options(f: F) -> F:
    from .sinks import FORMATS

    return _apply(
        [
            click.option(
                "-f",
                "--format",
                "fmt",
                type=click.Choice(FORMATS),
                default="auto",
                show_default=True,
                envvar="SECFEED_FORMAT",
                show_envvar=True,
                help="auto: the table on a terminal, NDJSON otherwise.",
            ),
            click.option(
                "--raw", is_flag=True, help="NDJSON: print each filing frame exactly as received."
            ),
            click.option(
                "--latency",
                is_flag=True,
                help="Show latency (receive time minus discovered_time) and summarise it.",
            ),
            click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr."),
            click.option("-v", "--verbose", is_flag=True, help="More detail on stderr."),
        ]
    )(f)


def run_options(f: F) -> F:
    return _apply(
        [
            click.option("--no-backlog", is_flag=True, help="Print live filings only."),
            click.option(
                "--backlog-only",
                is_flag=True,
                help="Print the backlog and exit 0 once it is complete.",
            ),
            click.option(
                "-n",
                "--count",
                type=click.IntRange(min=0),
                metavar="N",
                help="Exit 0 after N printed filings.",
            ),
            click.option("--duration", type=SECONDS, metavar="S", help="Exit 0 after S seconds."),
            click.option(
                "--settle",
                type=SECONDS,
                default=2.0,
                show_default=True,
                metavar="S",
                help="Without heartbeats: the backlog is complete after S quiet seconds.",
            ),
        ]
    )(f)


# ---- commands -----------------------------------------------------------------------------


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(_version(), "-V", "--version", prog_name="secfeed")
def cli() -> None:
    """Watch SEC filings arrive in real time from the FinFeedAPI SEC WebSocket.

    \b
    secfeed tail      backlog, then every new filing: a live table, NDJSON or CSV
    secfeed demo      the same against the built-in emulator (no key, no network)
    secfeed serve     run the emulator for offline testing
    """


TAIL_EPILOG = (
    """\b
Examples:
  secfeed tail --form 8-K,10-K*
  secfeed tail -f ndjson | jq -r 'select(.form=="8-K") | .description'
  secfeed tail --backlog-only -f csv > recent.csv

"""
    + EXIT_CODES_HELP
)


@cli.command(epilog=TAIL_EPILOG)
@connection_options
@filter_options
@output_options
@run_options
def tail(**opts: Any) -> int:
    """Print the backlog of recent filings, then every new filing as it is discovered."""
    _check_key(opts)
    return _tail(opts)


DEMO_EPILOG = (
    """\b
Examples:
  secfeed demo
  secfeed demo --form 8-K --latency
  secfeed demo -f ndjson -n 5 | jq .form

"""
    + EXIT_CODES_HELP
)


@cli.command(epilog=DEMO_EPILOG)
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    default=0.8,
    show_default=True,
    help="Live filings per second from the built-in emulator.",
)
@filter_options
@output_options
@run_options
def demo(rate: float, **opts: Any) -> int:
    """Run `tail` against the built-in emulator with real sample filings."""
    from .emulator.server import EmulatorConfig, EmulatorThread

    runner = EmulatorThread(EmulatorConfig(rate=rate))
    emulator = runner.start()
    try:
        opts.update(
            url=emulator.url,
            api_key=None,
            key_in="header",
            heartbeat=True,
            stall_timeout=5.0,
            reconnect=True,
            max_retries=3,
            ca_bundle=None,
            proxy=None,
        )
        return _tail(opts)
    finally:
        runner.stop()


SERVE_EPILOG = """\b
Examples:
  secfeed serve --port 8765
  secfeed serve --port 0 --rate 5 --api-key test-key
  secfeed serve --firehose 131072 --rate 100
"""


@cli.command(epilog=SERVE_EPILOG)
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
    type=SECONDS,
    default=30.0,
    show_default=True,
    help="With --speed: the longest pause between two filings, in seconds.",
)
@click.option(
    "--reconnect-every",
    type=SECONDS,
    default=None,
    metavar="S",
    help="Send each connection a reconnect message every S seconds.",
)
@click.option(
    "--reconnect-within",
    type=SECONDS,
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
    type=SECONDS,
    default=60.0,
    show_default=True,
    help="Seconds between WebSocket pings.",
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
    "--fault-connections",
    type=POSITIVE,
    hidden=True,
    help="Apply faults only to the first K connections.",
)
@click.option("-q", "--quiet", is_flag=True, help="Do not log connections on stderr.")
def serve(**opts: Any) -> int:
    """Run a local emulator of the FinFeedAPI SEC WebSocket, with real sample filings."""
    import asyncio

    from .emulator.server import EmulatorConfig, serve_forever

    if opts["keyfile"] and not opts["certfile"]:
        raise click.UsageError("--keyfile needs --certfile")
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
        firehose=opts["firehose"],
        sample_path=opts["sample_path"],
        certfile=opts["certfile"],
        keyfile=opts["keyfile"],
        drop_after=opts["fault_drop_after"],
        stall_after=opts["fault_stall_after"],
        error_after=opts["fault_error_after"],
        malformed_every=opts["fault_malformed_every"],
        fault_connections=opts["fault_connections"],
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


# ---- the tail run -------------------------------------------------------------------------


def _check_key(opts: dict[str, Any]) -> None:
    if opts.get("api_key"):
        return
    parts = urlsplit(opts["url"])
    host = parts.hostname or ""
    if parts.scheme == "ws" or host.startswith(LOOPBACK) or host == "::1":
        return
    raise click.UsageError(
        f"an API key is needed for {host}: pass --api-key KEY or set FINFEED_API_KEY"
    )


def _tail(opts: dict[str, Any]) -> int:
    from .app import Run, RunLimits, silence_stdout
    from .filters import FilingFilter, split_patterns
    from .sinks import resolve_format
    from .sinks.diagnostics import Diagnostics
    from .stream import ConnectOptions, Stream

    if opts["backlog_only"] and opts["no_backlog"]:
        raise click.UsageError("--backlog-only and --no-backlog exclude each other")
    fmt = resolve_format(opts["fmt"], sys.stdout.isatty())
    if opts["raw"] and fmt != "ndjson":
        raise click.UsageError("--raw goes with NDJSON output (-f ndjson, or a pipe)")
    diag = Diagnostics(quiet=opts["quiet"], verbose=opts["verbose"], secret=opts["api_key"])
    stream = Stream(
        ConnectOptions(
            url=opts["url"],
            api_key=opts["api_key"],
            key_in=opts["key_in"],
            heartbeat=opts["heartbeat"],
            stall_timeout=opts["stall_timeout"],
            settle=opts["settle"],
            reconnect=opts["reconnect"],
            max_retries=opts["max_retries"],
            ca_bundle=opts["ca_bundle"],
            proxy=opts["proxy"],
        )
    )
    filt = FilingFilter(
        forms=tuple(split_patterns(opts["forms"])),
        exclude=tuple(split_patterns(opts["exclude_forms"])),
        ciks=frozenset(opts["ciks"]),
        amendments=not opts["no_amendments"],
    )
    limits = RunLimits(
        backlog=not opts["no_backlog"],
        backlog_only=opts["backlog_only"],
        count=opts["count"],
        duration=opts["duration"],
    )
    run = Run(stream, filt, limits, diag)
    sink = _make_sink(fmt, opts, run)
    code = ExitCode.ERROR
    broken = False
    try:
        code = run.run(sink)
        return code
    except BrokenPipeError:
        broken = True
        silence_stdout()
        return ExitCode.OK
    except KeyboardInterrupt:
        code = ExitCode.INTERRUPTED
        raise Interrupted() from None
    except Terminated:
        code = ExitCode.TERMINATED
        raise
    finally:
        if not broken:
            try:
                sink.close()
            except OSError:
                silence_stdout()
                broken = True
        if not broken and (opts["latency"] or opts["verbose"] or code != ExitCode.OK):
            diag.info(run.summary())


def _make_sink(fmt: str, opts: dict[str, Any], run: Any) -> Any:
    out = sys.stdout.buffer
    if fmt == "ndjson":
        from .sinks.lines import NdjsonSink

        return NdjsonSink(out, latency=opts["latency"], raw=opts["raw"])
    if fmt == "csv":
        from .sinks.lines import CsvSink

        return CsvSink(out, latency=opts["latency"])
    from .sinks.table import PlainTableSink, TableSink, table_console

    if not sys.stdout.isatty():
        return PlainTableSink(out, latency=opts["latency"])
    return TableSink(table_console(), run.status, latency=opts["latency"])


# ---- entry point --------------------------------------------------------------------------


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> None:
    """The console script: runs the CLI and maps every outcome to a documented exit status."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        code = cli.main(args=argv, prog_name="secfeed", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except (KeyboardInterrupt, click.exceptions.Abort):
        code = ExitCode.INTERRUPTED
    except Terminated:
        code = ExitCode.TERMINATED
    except SecfeedError as exc:
        from .sinks.diagnostics import Diagnostics

        if str(exc):
            Diagnostics().error(str(exc))
        code = exc.exit_code
    except BrokenPipeError:
        from .app import silence_stdout

        silence_stdout()
        code = ExitCode.OK
    sys.exit(int(code) if isinstance(code, int) else 0)
