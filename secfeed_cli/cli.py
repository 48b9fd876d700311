"""Command-line wiring: the click commands and the entry point. No protocol or rendering.

Heavy modules (rich, websocket-client, websockets, the emulator) are imported inside the
commands, so ``secfeed --version`` and ``--help`` start fast.
"""

from __future__ import annotations

import errno
import io
import sys
from typing import Any
from urllib.parse import urlsplit

import click
from click.core import ParameterSource

from . import __version__
from .errors import ExitCode, Interrupted, OutputError, SecfeedError, Terminated
from .options import (
    SECONDS,
    config_option,
    connection_options,
    filter_options,
    output_options,
    raw_option,
    run_options,
)
from .serve_command import serve

EXIT_CODES_HELP = """\b
Exit status:
  0    done (--count, --duration, --backlog-only complete; downstream pipe closed)
  1    internal error, or output cannot be written (e.g. disk full)
  2    usage error (bad option or config)
  3    the API key was rejected
  4    could not connect, gave up reconnecting, or the connection ended (--no-reconnect)
  5    the server reported another error (--no-reconnect)
  6    snapshot: another run held the --state lock until --timeout
  129  hangup (SIGHUP); 130 interrupted (Ctrl-C); 143 terminated (SIGTERM)"""

LOOPBACK = ("127.", "localhost", "::1")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="secfeed")
def cli() -> None:
    """Watch SEC filings arrive in real time from the FinFeedAPI SEC WebSocket.

    \b
    secfeed tail      backlog, then every new filing: a live table, NDJSON or CSV
    secfeed snapshot  the current backlog to a file, atomically (for cron)
    secfeed demo      tail against the built-in emulator (no key, no network)
    secfeed serve     run the emulator for offline testing
    """


cli.add_command(serve)

TAIL_EPILOG = (
    """\b
Examples:
  secfeed tail --form 8-K,10-K*
  secfeed tail | jq -r 'select(.form=="8-K") | .description'
  secfeed tail --backlog-only -f csv > recent.csv

"""
    + EXIT_CODES_HELP
)


@cli.command(epilog=TAIL_EPILOG)
@connection_options
@filter_options
@output_options(("auto", "table", "ndjson", "csv"), "auto")
@raw_option
@run_options
def tail(**opts: Any) -> int:
    """Print the backlog of recent filings, then every new filing as it is discovered."""
    _resolve_key(opts)
    return _tail(opts)


SNAPSHOT_EPILOG = (
    """\b
Examples:
  secfeed snapshot -o filings.ndjson
  secfeed snapshot -f csv -o 8k.csv --form 8-K --state ~/.cache/secfeed-8k.state
  */10 * * * * secfeed snapshot -o /data/new.ndjson --state /data/state --skip-empty

"""
    + EXIT_CODES_HELP
)


@cli.command(epilog=SNAPSHOT_EPILOG)
@connection_options
@filter_options
@output_options(("ndjson", "csv", "json"), "ndjson")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Write here atomically (temp file, fsync, rename); else stdout.",
)
@click.option(
    "--state",
    type=click.Path(dir_okay=False),
    help="Remember what was written; later runs write only new filings.",
)
@click.option(
    "--skip-empty",
    is_flag=True,
    help="When nothing is new, leave --output untouched instead of emptying it.",
)
@click.option(
    "--timeout",
    type=SECONDS,
    default=30.0,
    show_default=True,
    metavar="S",
    help="Exit 4 when the backlog is not complete after S seconds.",
)
def snapshot(**opts: Any) -> int:
    """Write the backlog the feed holds now (or only what is new since --state), then exit."""
    import os
    import time

    deadline = time.monotonic() + opts["timeout"]  # for the whole run, the lock included
    _resolve_key(opts)

    from . import snapshot as snapshot_files
    from .errors import StateBusy
    from .snapshot import AtomicFile, State, StateError

    if (
        opts["output"]
        and opts["state"]
        and os.path.realpath(opts["output"]) == os.path.realpath(opts["state"])
    ):
        raise click.UsageError("-o/--output and --state name the same file")
    opts.update(
        heartbeat=True,
        raw=False,
        no_backlog=False,
        backlog_only=True,
        count=None,
        duration=None,
        settle=2.0,
    )
    state = None
    if opts["state"]:
        state = State(opts["state"])
        try:
            state.lock(deadline)
            state.load()
        except StateError as exc:
            error = StateBusy if isinstance(exc, snapshot_files.StateBusy) else SecfeedError
            raise error(str(exc)) from None
    opts["deadline"] = deadline
    target = AtomicFile(opts["output"]) if opts["output"] else None
    # To stdout, too, a snapshot is all or nothing: held in memory (a backlog is a few hundred
    # filings) and written once complete.
    held = io.BytesIO()
    out = target.file if target else held
    try:
        code, written = _run(
            opts,
            out,
            skip=state.__contains__ if state else None,
            record=state.add if state else None,
            pipe_may_close=False,
        )
        if target is not None:
            if written == 0 and opts["skip_empty"]:
                target.abort()
            else:
                target.commit()
        else:
            _write_stdout(held.getvalue())
        if state is not None:
            try:
                state.save()
            except OutputError as exc:  # the output is out: at worst the next run repeats it
                where = opts["output"] or "standard output"
                raise OutputError(
                    f"wrote {written} filings to {where}, but could not save the state"
                    f" ({exc}); the next run will write them again"
                ) from None
        return code
    finally:
        if target is not None:
            target.abort()


def _write_stdout(data: bytes) -> None:
    try:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    except OSError as exc:
        from .app import silence_stdout

        silence_stdout()
        if isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE:
            raise OutputError("the output pipe closed before the snapshot was complete") from None
        raise OutputError(f"cannot write output: {exc.strerror or exc}") from None


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
@config_option
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    default=0.8,
    show_default=True,
    help="Live filings per second from the built-in emulator.",
)
@filter_options
@output_options(("auto", "table", "ndjson", "csv"), "auto")
@raw_option
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
            connect_timeout=10.0,
            reconnect=True,
            max_retries=3,
            ca_bundle=None,
            proxy=None,
        )
        return _tail(opts)
    finally:
        runner.stop()


# ---- running ------------------------------------------------------------------------------

_RANK = {
    ParameterSource.COMMANDLINE: 0,
    ParameterSource.ENVIRONMENT: 1,
    ParameterSource.DEFAULT_MAP: 2,
}


def _resolve_key(opts: dict[str, Any]) -> None:
    """Pick the key by precedence (flag > env > config) across --api-key and --api-key-file."""
    from . import config

    ctx = click.get_current_context()
    candidates = []
    for name in ("api_key", "api_key_file"):
        source = ctx.get_parameter_source(name)
        if opts.get(name) and source in _RANK:
            candidates.append((_RANK[source], name))
    key = None
    if candidates:
        _, name = min(candidates)
        try:
            key = opts[name] if name == "api_key" else config.read_key_file(opts[name])
        except config.ConfigError as exc:
            raise click.UsageError(str(exc)) from None
    if key:
        from .redact import add_secret

        add_secret(key)
        bad = next((ch for ch in key if ch <= " " or "\x7f" <= ch <= "\x9f"), None)
        if bad is not None:
            what = {"\r": "a CR", "\n": "a LF", " ": "a space", "\t": "a tab"}.get(
                bad, f"control character U+{ord(bad):04X}"
            )
            raise click.UsageError(
                f"the API key contains {what}: it cannot go into a request header"
                " (check the key file or variable for a stray line break)"
            )
    opts["api_key"] = key
    if key:
        return
    parts = urlsplit(opts["url"])
    host = parts.hostname or ""
    if parts.scheme == "ws" or host.startswith(LOOPBACK):
        return
    raise click.UsageError(
        f"an API key is needed for {host}: pass --api-key KEY, --api-key-file FILE"
        " or set FINFEED_API_KEY"
    )


def _tail(opts: dict[str, Any]) -> int:
    from .sinks import resolve_format

    if opts["backlog_only"] and opts["no_backlog"]:
        raise click.UsageError("--backlog-only and --no-backlog exclude each other")
    opts["fmt"] = resolve_format(opts["fmt"], sys.stdout.isatty())
    if opts["raw"] and opts["fmt"] != "ndjson":
        raise click.UsageError("--raw goes with NDJSON output (-f ndjson, or a pipe)")
    from .sinks.stdout import StdoutLines

    sys.stdout.flush()
    code, _ = _run(opts, StdoutLines(sys.stdout.fileno()))
    return code


def _run(
    opts: dict[str, Any],
    out: Any,
    skip: Any = None,
    record: Any = None,
    pipe_may_close: bool = True,
) -> tuple[int, int]:
    """One run into ``out``; returns the exit code and the number of filings written.

    A closed downstream pipe ends a tail quietly (exit 0); for a snapshot
    (``pipe_may_close=False``) it is an error, since the snapshot was not delivered whole.
    """
    from . import config
    from .app import Run, RunLimits, silence_stdout
    from .connection import ConnectOptions
    from .filters import FilingFilter, split_patterns
    from .sinks.diagnostics import Diagnostics
    from .stream import Stream

    diag = Diagnostics(quiet=opts["quiet"], verbose=opts["verbose"], secret=opts["api_key"])
    for warning in config.warnings:
        diag.warn(warning)
    stream = Stream(
        ConnectOptions(
            url=opts["url"],
            api_key=opts["api_key"],
            key_in=opts["key_in"],
            heartbeat=opts["heartbeat"],
            stall_timeout=opts["stall_timeout"],
            connect_timeout=opts["connect_timeout"],
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
        timeout=opts.get("timeout"),
        deadline=opts.get("deadline"),
    )
    run = Run(stream, filt, limits, diag, skip=skip)
    sink = _make_sink(opts, out, run, record)
    code: int = ExitCode.ERROR
    broken = closed = False
    try:
        code = run.run(sink)
        sink.close()  # the last flush can fail too (disk full, closed pipe)
        closed = True
        return code, sink.written
    except OSError as exc:
        if not (isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE):
            raise OutputError(f"cannot write output: {exc.strerror or exc}") from None
        broken = True
        silence_stdout()
        if not pipe_may_close:
            raise OutputError("the output pipe closed before the snapshot was complete") from None
        return ExitCode.OK, sink.written
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
        if not broken and (opts["latency"] or opts["verbose"] or code != ExitCode.OK):
            diag.info(run.summary())


def _make_sink(opts: dict[str, Any], out: Any, run: Any, record: Any) -> Any:
    fmt = opts["fmt"]
    if fmt == "ndjson":
        from .sinks.lines import NdjsonSink

        sink: Any = NdjsonSink(out, latency=opts["latency"], raw=opts["raw"])
    elif fmt == "csv":
        from .sinks.lines import CsvSink

        sink = CsvSink(out, latency=opts["latency"])
    elif fmt == "json":
        from .sinks.lines import JsonArraySink

        sink = JsonArraySink(out, latency=opts["latency"])
    else:
        from .sinks.table import PlainTableSink, TableSink, table_console

        if not sys.stdout.isatty():
            sink = PlainTableSink(out, latency=opts["latency"])
        else:
            sink = TableSink(table_console(), run.status, latency=opts["latency"])
    if record is not None:
        from .sinks import Recording

        sink = Recording(sink, record)
    return sink


# ---- entry point --------------------------------------------------------------------------


class _RedactingStderr:
    """stderr for click's own messages, through the same redaction as every other line."""

    def write(self, text: str) -> int:
        from .redact import redact

        sys.stderr.write(redact(text))
        return len(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def main(argv: list[str] | None = None) -> None:
    """The console script: runs the CLI and maps every outcome to a documented exit status."""
    from . import signals

    signals.install()
    try:
        code = cli.main(args=argv, prog_name="secfeed", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show(file=_RedactingStderr())  # type: ignore[arg-type]
        code = exc.exit_code
    except (KeyboardInterrupt, click.exceptions.Abort):
        code = ExitCode.INTERRUPTED
    except Terminated as exc:
        code = exc.exit_code
    except SecfeedError as exc:
        if str(exc):
            from .sinks.diagnostics import Diagnostics

            Diagnostics().error(str(exc))
        code = exc.exit_code
    except BrokenPipeError:
        from .app import silence_stdout

        silence_stdout()
        code = ExitCode.OK
    except Exception as exc:  # a bug: one line, unless SECFEED_DEBUG asks for the traceback
        import os

        if os.environ.get("SECFEED_DEBUG"):
            raise
        from .sinks.diagnostics import Diagnostics

        Diagnostics().error(
            f"internal error: {type(exc).__name__}: {exc} (set SECFEED_DEBUG=1 for details)"
        )
        code = ExitCode.ERROR
    sys.exit(int(code) if isinstance(code, int) else 0)
