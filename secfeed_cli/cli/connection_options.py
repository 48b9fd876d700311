"""``connection_options``: where the feed is, the key (its precedence and checks), the proxy.

The key is taken by precedence across ``--api-key`` and ``--api-key-file`` (flag > environment >
config file), registered for redaction at once, and refused if it could inject a header.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import click
from click.core import ParameterSource

from .groups import F, environment, option_group
from .params import (
    DURATION,
    EnvOption,
    ProxyUrl,
    WsUrl,
)

if TYPE_CHECKING:
    from ..feed.links import ConnectOptions
from .configfile import config_option


def connection_options(f: F) -> F:
    from ..errors import DEFAULT_URL

    return option_group(
        "connection",
        _connection,
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
        ],
    )(f)


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
    from ..feed.links import ConnectOptions

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
    from ..feed.proxy import proxy_for
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
        environment().secrets.add_url(via.geturl())
    return proxy


def _resolve_key(url: str, api_key: str | None, api_key_file: str | None) -> str | None:
    """The key by precedence (flag > env > config) across --api-key and --api-key-file;
    registered for redaction, checked for characters that would inject headers."""
    from ..common import config

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
            key = (
                api_key
                if name == "api_key"
                else config.read_key_file(str(api_key_file), environment().warnings.append)
            )
        except config.ConfigError as exc:
            raise click.UsageError(str(exc)) from None
    if key:
        environment().secrets.add(key)  # first: nothing said from here on can show it
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
