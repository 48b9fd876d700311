"""Click parameter types and the option groups shared by `tail`, `snapshot` and `demo`.

Validation happens here, before any connection is made: a bad URL, form pattern, CIK or
count is a usage error (exit 2). ``--config`` is eager, so the config file's values are in
place (as click's ``default_map``, below flags and environment) before other options resolve.

Each group hands the command one typed object instead of its loose values: a builder function
whose parameters are the group's options makes it (``--form`` -> ``_filters(forms=...)`` ->
``FilingFilter.forms``), so an option can be followed to its use by reading.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import click
from click.core import ParameterSource

from ..run.settings import MAX_EXEC_JOBS, AlertSettings, OutputSettings, RunSettings
from .params import (
    DURATION,
    POSITIVE,
    Cik,
    EnvOption,
    FormPattern,
    NatsUrl,
    ProxyUrl,
    TickerList,
    When,
    WsUrl,
)

if TYPE_CHECKING:
    from datetime import datetime

    from ..broker import NatsSettings
    from ..feed.connection import ConnectOptions
    from ..filtering.filters import FilingFilter

F = TypeVar("F", bound=Callable[..., Any])


def _apply(options: list[Callable[[F], F]]) -> Callable[[F], F]:
    def decorator(f: F) -> F:
        for option in reversed(options):
            f = option(f)
        return f

    return decorator


def _bundle(name: str, build: Callable[..., Any]) -> Callable[[F], F]:
    """Hand the command ``name=build(...)`` in place of the values ``build`` takes."""
    code = build.__code__
    takes = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]

    def decorator(f: F) -> F:
        @functools.wraps(f)
        def wrapper(**values: Any) -> Any:
            mine = {key: values.pop(key) for key in takes if key in values}
            values[name] = build(**mine)
            return f(**values)

        return wrapper  # type: ignore[return-value]

    return decorator


def _load_config(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from pathlib import Path

    from ..run import config

    path = (
        Path(value)
        if value is not None
        else config.default_path(app_dir=click.get_app_dir("secfeed"))
    )
    if value is None and not path.exists():  # the default file is optional, --config is not
        return None
    command = ctx.command.name
    try:
        values, own = config.load(path, command)
    except config.ConfigError as exc:
        raise click.UsageError(str(exc), ctx) from None
    options = {p.name: p for p in ctx.command.params}
    defaults = {}
    for name, value in values.items():
        key = next(k for k, (n, _, _) in config.KEYS.items() if n == name)
        option = options.get(name)
        if option is None:
            if name in own:  # in this command's own table
                raise click.UsageError(
                    f"config file {path}: [{command}] key {key!r}: secfeed {command}"
                    " has no such option",
                    ctx,
                )
            continue  # a top-level key for another command
        try:  # checked here, so that an error names the file rather than an option
            option.type_cast_value(ctx, value)
        except click.BadParameter as exc:
            raise click.UsageError(f"config file {path}: key {key!r}: {exc.message}", ctx) from None
        defaults[name] = value
    ctx.default_map = {**(ctx.default_map or {}), **defaults}
    return str(path)


def config_option(f: F) -> F:
    return click.option(
        "--config",
        type=click.Path(dir_okay=False),
        cls=EnvOption,
        envvar="SECFEED_CONFIG",
        show_envvar=True,
        is_eager=True,
        expose_value=False,
        callback=_load_config,
        help="TOML config file [default: $XDG_CONFIG_HOME/secfeed/config.toml].",
    )(f)


def connection_options(f: F) -> F:
    from ..errors import DEFAULT_URL

    return _apply(
        [
            config_option,
            click.option(
                "--url",
                type=WsUrl(),
                default=DEFAULT_URL,
                show_default=True,
                cls=EnvOption,
                envvar="SECFEED_URL",
                show_envvar=True,
                help="WebSocket endpoint.",
            ),
            click.option(
                "--api-key",
                cls=EnvOption,
                envvar="FINFEED_API_KEY",
                show_envvar=True,
                help="FinFeedAPI key (never printed). Optional for ws:// and loopback.",
            ),
            click.option(
                "--api-key-file",
                type=click.Path(dir_okay=False),
                metavar="FILE",
                help="Read the key from FILE (should be chmod 600).",
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
                help="Ask for heartbeats (hello) and watch them to detect dead links.",
            ),
            click.option(
                "--stall-timeout",
                type=DURATION,
                default=5.0,
                show_default=True,
                metavar="S",
                help="With heartbeats: no complete frame for S seconds = dead; reconnect"
                " (without: 130 s, two missed server pings).",
            ),
            click.option(
                "--connect-timeout",
                type=DURATION,
                default=10.0,
                show_default=True,
                metavar="S",
                help="Deadline for TCP, proxy, TLS and the whole upgrade response.",
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
                cls=EnvOption,
                envvar="SSL_CERT_FILE",
                show_envvar=True,
                help="CA certificates to trust for wss:// (PEM).",
            ),
            click.option(
                "--proxy",
                type=ProxyUrl(),
                metavar="URL",
                help="Proxy: http://user:pass@proxy:3128 (CONNECT), socks5://host:1080 or"
                " socks5h://... (names resolved by the proxy); HTTPS_PROXY, HTTP_PROXY and"
                " NO_PROXY are honoured too.",
            ),
        ]
    )(_bundle("connection", _connection)(f))


LOOPBACK = ("127.", "localhost", "::1")
_RANK = {
    ParameterSource.COMMANDLINE: 0,
    ParameterSource.ENVIRONMENT: 1,
    ParameterSource.DEFAULT_MAP: 2,
}


def _connection(
    url: str,
    api_key: str | None,
    api_key_file: str | None,
    key_in: str,
    heartbeat: bool,
    stall_timeout: float,
    connect_timeout: float,
    reconnect: bool,
    max_retries: int | None,
    ca_bundle: str | None,
    proxy: str | None,
) -> ConnectOptions:
    from ..feed.connection import ConnectOptions

    proxy = _checked_proxy(url, proxy)
    return ConnectOptions(
        url=url,
        api_key=_resolve_key(url, api_key, api_key_file),
        key_in=key_in,
        heartbeat=heartbeat,
        stall_timeout=stall_timeout,
        connect_timeout=connect_timeout,
        reconnect=reconnect,
        max_retries=max_retries,
        ca_bundle=ca_bundle,
        proxy=proxy,
    )


def _checked_proxy(url: str, proxy: str | None) -> str | None:
    """The proxy for ``url``: --proxy, else the environment's (checked here, so a bad one is a
    usage error, not a connect failure retried for ever); its credentials join the secrets in
    every form they can be echoed in (plain, URL-encoded, in a Basic credential)."""
    from ..feed.handshake import proxy_for
    from ..run.redact import add_url_credentials
    from .params import proxy_problem

    if proxy is None:
        secure = url.startswith("wss:")
        for name in ("https_proxy", "HTTPS_PROXY") if secure else ("http_proxy", "HTTP_PROXY"):
            found = os.environ.get(name)
            if found:
                problem = proxy_problem(found)
                if problem is not None:
                    raise click.UsageError(f"{name}: {problem}")
                break
    via = proxy_for(urlsplit(url).hostname or "", url.startswith("wss:"), proxy)
    if via is not None:
        add_url_credentials(via.geturl())
    return proxy


def _resolve_key(url: str, api_key: str | None, api_key_file: str | None) -> str | None:
    """The key by precedence (flag > env > config) across --api-key and --api-key-file;
    registered for redaction, checked for characters that would inject headers."""
    from ..run import config

    ctx = click.get_current_context()
    given = {"api_key": api_key, "api_key_file": api_key_file}
    candidates = [
        (_RANK[source], name)
        for name, value in given.items()
        if value and (source := ctx.get_parameter_source(name)) in _RANK
    ]
    key = None
    if candidates:
        _, name = min(candidates)
        try:
            key = api_key if name == "api_key" else config.read_key_file(str(api_key_file))
        except config.ConfigError as exc:
            raise click.UsageError(str(exc)) from None
    if key:
        from ..run.redact import add_secret

        add_secret(key)
        if len(key) > config.MAX_KEY:
            raise click.UsageError(
                f"the API key has {len(key):,} characters: longer than any API key"
                f" ({config.MAX_KEY} at most)"
            )
        bad = next((ch for ch in key if ch <= " " or "\x7f" <= ch <= "\x9f"), None)
        if bad is not None:
            what = {"\r": "a CR", "\n": "a LF", " ": "a space", "\t": "a tab"}.get(
                bad, f"control character U+{ord(bad):04X}"
            )
            raise click.UsageError(
                f"the API key contains {what}: it cannot go into a request header"
                " (check the key file or variable for a stray line break)"
            )
        return key
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "ws" or host.startswith(LOOPBACK) or ctx.params.get("from_urls"):
        return None  # no key needed (--from reads NATS, not FinFeedAPI)
    raise click.UsageError(
        f"an API key is needed for {host}: pass --api-key KEY, --api-key-file FILE"
        " or set FINFEED_API_KEY"
    )


def filter_options(f: F) -> F:
    return _apply(
        [
            click.option(
                "--form",
                "forms",
                type=FormPattern(),
                multiple=True,
                help="Only these forms: repeatable, comma-separated, case-insensitive"
                " globs (8-K, '10-K*'). An amendment matches its base form.",
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
                "--ticker",
                "tickers",
                type=TickerList(),
                multiple=True,
                help="Only filings of the CIKs SEC maps this ticker to (repeatable,"
                " comma-separated, case-insensitive).",
            ),
            click.option(
                "--watchlist",
                type=click.Path(dir_okay=False),
                metavar="FILE",
                help="Only filings of these: one ticker or CIK per line, # comments.",
            ),
            click.option(
                "--no-amendments",
                is_flag=True,
                help="A pattern matches amendments (/A) only if it matches them itself.",
            ),
            click.option(
                "--since",
                type=When(),
                help="Only filings discovered at or after WHEN: an age (15m, 2h, 1d), a date"
                " (local midnight) or a time (2026-12-03T14:30, local; or with Z or an offset).",
            ),
        ]
    )(_bundle("filters", _filters)(f))


def _filters(
    forms: tuple[str, ...],
    exclude_forms: tuple[str, ...],
    ciks: tuple[int, ...],
    tickers: tuple[str, ...],
    watchlist: str | None,
    no_amendments: bool,
    since: datetime | None = None,
) -> FilingFilter:
    from ..filtering import formcheck
    from ..filtering.filters import FilingFilter, split_patterns
    from ..filtering.watchlist import WatchlistError, read_watchlist, resolve_tickers
    from ..run import config

    include, exclude = split_patterns(forms), split_patterns(exclude_forms)
    config.warnings.extend(formcheck.check(dict.fromkeys(include + exclude)))
    wanted = set(ciks)
    try:
        wanted |= resolve_tickers(split_patterns(tickers))
        if watchlist is not None:
            wanted |= read_watchlist(watchlist)
    except WatchlistError as exc:
        raise click.UsageError(str(exc)) from None
    return FilingFilter(
        forms=tuple(include),
        exclude=tuple(exclude),
        ciks=frozenset(wanted),
        amendments=not no_amendments,
        since=since,
    )


def output_options(formats: tuple[str, ...], default: str) -> Callable[[F], F]:
    table = (
        [
            click.option(
                "--utc", is_flag=True, help="Table: times in UTC, not this machine's local time."
            )
        ]
        if "table" in formats
        else []
    )
    options: Callable[[F], F] = _apply(
        [
            click.option(
                "-f",
                "--format",
                "fmt",
                type=click.Choice(formats),
                default=default,
                show_default=True,
                cls=EnvOption,
                envvar="SECFEED_FORMAT",
                show_envvar=True,
                help="auto: the table on a terminal, NDJSON otherwise."
                if "auto" in formats
                else "Output format.",
            ),
            click.option(
                "--latency",
                is_flag=True,
                help="Add receive time and latency (receive - discovered_time).",
            ),
            *table,
            click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr."),
            click.option("-v", "--verbose", is_flag=True, help="More detail on stderr."),
        ]
    )

    def decorator(f: F) -> F:
        return options(_bundle("output", _output)(f))

    return decorator


def _output(
    fmt: str, latency: bool, quiet: bool, verbose: bool, raw: bool = False, utc: bool = False
) -> OutputSettings:
    return OutputSettings(fmt=fmt, latency=latency, quiet=quiet, verbose=verbose, raw=raw, utc=utc)


def raw_option(f: F) -> F:
    return click.option(
        "--raw", is_flag=True, help="NDJSON: print each filing frame exactly as received."
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
            lines_option,
            click.option(
                "--count",
                type=click.IntRange(min=0),
                metavar="N",
                help="Exit 0 after N printed filings.",
            ),
            click.option("--duration", type=DURATION, metavar="S", help="Exit 0 after S seconds."),
            click.option(
                "--settle",
                type=DURATION,
                default=2.0,
                show_default=True,
                metavar="S",
                help="Without heartbeats: the backlog is complete after S quiet seconds.",
            ),
        ]
    )(_bundle("run", _run_settings)(f))


def lines_option(f: F) -> F:
    return click.option(
        "-n",
        "--lines",
        type=click.IntRange(min=0),
        metavar="N",
        help="Of the backlog, only the newest N filings that pass the filters (0: none).",
    )(f)


def _run_settings(
    no_backlog: bool,
    backlog_only: bool,
    lines: int | None,
    count: int | None,
    duration: float | None,
    settle: float,
) -> RunSettings:
    if backlog_only and no_backlog:
        raise click.UsageError("--backlog-only and --no-backlog exclude each other")
    if lines is not None and no_backlog:
        raise click.UsageError("-n/--lines and --no-backlog exclude each other (-n 0 is none)")
    return RunSettings(
        backlog=not no_backlog,
        backlog_only=backlog_only,
        lines=lines,
        count=count,
        duration=duration,
        settle=settle,
    )


def alert_options(f: F) -> F:
    return _apply(
        [
            click.option(
                "--exec",
                "exec_commands",
                multiple=True,
                metavar="CMD",
                help="Run CMD through the shell for each filing shown: its NDJSON line on"
                " stdin, its fields in SECFEED_* variables (repeatable).",
            ),
            click.option(
                "--exec-jobs",
                type=click.IntRange(1, MAX_EXEC_JOBS),
                default=4,
                show_default=True,
                metavar="N",
                help="Hooks running at once (1: one at a time, in filing order; at most 64).",
            ),
            click.option(
                "--exec-timeout",
                type=DURATION,
                default=30.0,
                show_default=True,
                metavar="S",
                help="Kill a hook (and what it started) after S seconds.",
            ),
            click.option(
                "--notify",
                "notify_urls",
                multiple=True,
                metavar="URL",
                help="Send each burst of filings to this apprise URL (slack://, ntfy://,"
                " json://, ...; needs secfeed[notify]; repeatable).",
            ),
            click.option(
                "--notify-timeout",
                type=DURATION,
                default=10.0,
                show_default=True,
                metavar="S",
                help="Give up on one attempt to send a notification after S seconds in all.",
            ),
            click.option(
                "--bell", is_flag=True, help="Live table: ring the terminal bell for new filings."
            ),
            click.option(
                "--highlight",
                multiple=True,
                metavar="REGEX",
                help="Live table: mark rows whose form, company, ticker or description match"
                " (case-insensitive, repeatable).",
            ),
            click.option(
                "--alert-backlog",
                is_flag=True,
                help="Hooks, notifications and the bell for backlog filings too.",
            ),
        ]
    )(_bundle("alerts", _alerts)(f))


def _alerts(
    exec_commands: tuple[str, ...],
    exec_jobs: int,
    exec_timeout: float,
    notify_urls: tuple[str, ...],
    notify_timeout: float,
    bell: bool,
    highlight: tuple[str, ...],
    alert_backlog: bool,
) -> AlertSettings:
    import re

    for pattern in highlight:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise click.UsageError(
                f"--highlight {pattern!r} is not a regular expression: {exc}"
            ) from None
    if notify_urls:
        from ..alerts.notify import NotifyUnavailable, services

        try:
            services(notify_urls)  # apprise installed, and every URL one it knows
        except (NotifyUnavailable, ValueError) as exc:
            raise click.UsageError(str(exc)) from None
    return AlertSettings(
        exec_commands=exec_commands,
        exec_jobs=exec_jobs,
        exec_timeout=exec_timeout,
        notify_urls=notify_urls,
        notify_timeout=notify_timeout,
        bell=bell,
        highlight=highlight,
        backlog=alert_backlog,
    )


# -- NATS: secfeed relay --to, and tail/snapshot --from --


def _nats_common() -> list[Callable[[F], F]]:
    return [
        click.option(
            "--stream",
            "stream_name",
            default="SECFEED",
            show_default=True,
            metavar="NAME",
            help="The JetStream stream.",
        ),
        click.option(
            "--subject-prefix",
            default="secfeed.filings",
            show_default=True,
            metavar="P",
            help="Subjects are P.<form> (the stream holds P.>).",
        ),
        click.option(
            "--nats-creds",
            type=click.Path(dir_okay=False),
            metavar="FILE",
            help="NATS credentials.",
        ),
        click.option(
            "--nats-tls-ca",
            type=click.Path(dir_okay=False),
            metavar="FILE",
            help="CA certificates for tls:// NATS servers.",
        ),
    ]


def source_options(f: F) -> F:
    return _apply(
        [
            click.option(
                "--from",
                "from_urls",
                type=NatsUrl(),
                multiple=True,
                metavar="URL",
                help="Read the filings from the NATS JetStream stream `secfeed relay` fills"
                " (nats://[user:pass@]host:port; repeatable for a cluster), not FinFeedAPI.",
            ),
            click.option(
                "--durable",
                metavar="NAME",
                help="With --from: a durable consumer that resumes where it stopped.",
            ),
            *_nats_common(),
        ]
    )(_bundle("source", _source)(f))


def _source(
    from_urls: tuple[str, ...],
    durable: str | None,
    stream_name: str,
    subject_prefix: str,
    nats_creds: str | None,
    nats_tls_ca: str | None,
) -> NatsSettings | None:
    if not from_urls:
        if durable:
            raise click.UsageError("--durable goes with --from nats://...")
        return None
    return _nats_settings(
        from_urls, stream_name, subject_prefix, nats_creds, nats_tls_ca, durable=durable
    )


def relay_options(f: F) -> F:
    return _apply(
        [
            click.option(
                "--to",
                "to_urls",
                type=NatsUrl(),
                multiple=True,
                required=True,
                metavar="URL",
                help="NATS server: nats://[user:pass@]host:port (repeatable for a cluster).",
            ),
            *_nats_common(),
            click.option(
                "--dedupe-window",
                type=DURATION,
                default="1h",
                show_default=True,
                metavar="D",
                help="A new stream's de-duplication window (s, m, h, d).",
            ),
            click.option(
                "--max-unacked",
                type=POSITIVE,
                default=4096,
                show_default=True,
                metavar="N",
                help="Filings out without NATS's acknowledgement, at most; then the relay"
                " stops reading the feed until NATS catches up.",
            ),
            click.option(
                "--max-age",
                type=DURATION,
                default="7d",
                show_default=True,
                metavar="D",
                help="How long a new stream keeps a filing (s, m, h, d).",
            ),
        ]
    )(_bundle("nats", _relay)(f))


def _relay(
    to_urls: tuple[str, ...],
    stream_name: str,
    subject_prefix: str,
    nats_creds: str | None,
    nats_tls_ca: str | None,
    dedupe_window: float,
    max_unacked: int,
    max_age: float,
) -> NatsSettings:
    return _nats_settings(
        to_urls,
        stream_name,
        subject_prefix,
        nats_creds,
        nats_tls_ca,
        dedupe_window=dedupe_window,
        max_age=max_age,
        max_unacked=max_unacked,
    )


def _nats_settings(
    urls: tuple[str, ...],
    stream: str,
    prefix: str,
    creds: str | None,
    tls_ca: str | None,
    **more: Any,
) -> NatsSettings:
    from ..broker import NatsSettings, NatsUnavailable, load_nats
    from ..feed.httpget import is_loopback
    from ..run import config
    from ..run.redact import add_url_credentials

    try:
        load_nats()
    except NatsUnavailable as exc:
        raise click.UsageError(str(exc)) from None

    for url in urls:
        add_url_credentials(url)  # nats://user:pass@host, or nats://TOKEN@host
        parts = urlsplit(url)
        if (
            parts.scheme == "nats"
            and (parts.username or creds)
            and not is_loopback(parts.hostname or "")
        ):
            config.warnings.append(
                f"credentials for {parts.hostname} go over plain nats://, readable by anyone"
                " on the way: use tls:// (and --nats-tls-ca for a private CA)"
            )
            break
    if creds:
        _check_creds(creds)
    if tls_ca:
        _check_ca(tls_ca)
    if not prefix or any(ch in prefix for ch in " *>") or prefix.endswith("."):
        raise click.UsageError(f"--subject-prefix {prefix!r} is not a NATS subject prefix")
    return NatsSettings(
        servers=urls, stream=stream, prefix=prefix, creds=creds, tls_ca=tls_ca, **more
    )


def _check_creds(path: str) -> None:
    """A --nats-creds file that nats-py could not use fails at once, naming the file."""
    from ..run import config

    try:
        text = config.read_text_file(path, 64 << 10, "--nats-creds file")
    except config.ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    if "BEGIN NATS USER JWT" not in text or "BEGIN USER NKEY SEED" not in text:
        raise click.UsageError(
            f"--nats-creds file {path} is not a NATS credentials file (a user JWT and an nkey"
            " seed, as `nsc generate creds` writes)"
        )
    try:
        import nkeys  # noqa: F401 - nats-py signs with it
    except ImportError:
        raise click.UsageError(
            "--nats-creds needs the nkeys library, part of the optional extra:"
            " pip install 'secfeed[nats]'"
        ) from None


def _check_ca(path: str) -> None:
    """A --nats-tls-ca file that is not readable PEM fails at once, naming the file."""
    import ssl

    from ..run import config

    try:
        config.read_text_file(path, 4 << 20, "--nats-tls-ca file")
        ssl.create_default_context(cafile=path)
    except config.ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    except (ssl.SSLError, OSError) as exc:
        raise click.UsageError(
            f"--nats-tls-ca file {path} holds no usable CA certificate (PEM): {exc}"
        ) from None
