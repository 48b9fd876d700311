"""Click parameter types: a value that is not a URL, form pattern or CIK is a usage error
(exit 2) before anything connects. Form patterns complete from EDGAR's common forms."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import click

POSITIVE = click.IntRange(min=1)


class EnvOption(click.Option):
    """An option that may come from an environment variable: its errors name the variable only
    when the value came from there (a bad ``--url`` flag is not the variable's fault)."""

    def get_error_hint(self, ctx: click.Context | None) -> str:
        from click.core import ParameterSource

        if ctx is not None and self.name:
            if ctx.get_parameter_source(self.name) is not ParameterSource.ENVIRONMENT:
                return click.Parameter.get_error_hint(self, ctx)
        return super().get_error_hint(ctx)


class FormatOption(EnvOption):
    """``-f``: ``SECFEED_FORMAT`` is shared by every command, so a format that only tail shows
    (``table``, ``auto``) set there for tail leaves a command without it at its default rather
    than failing it (a cron ``snapshot`` under a login shell's environment). Flags and other
    values are checked as usual."""

    def resolve_envvar_value(self, ctx: click.Context) -> str | None:
        value = super().resolve_envvar_value(ctx)
        choices = getattr(self.type, "choices", ())
        if value in TERMINAL_FORMATS and value not in choices:
            return None
        return value


#: The formats meant for a person at a terminal, which only tail (and demo) offer.
TERMINAL_FORMATS = ("auto", "table")


def url_problem(text: str, schemes: tuple[str, ...]) -> str | None:
    """What is wrong with ``text`` as a URL of one of ``schemes`` with a host: None if nothing.
    The URL is not repeated (it may hold a password); its scheme is named."""
    want = " or ".join(f"{s}://" for s in schemes)
    a = "an" if want.startswith("http") else "a"
    try:
        parts = urlsplit(text)
        host = parts.hostname
        port = parts.port
    except ValueError as exc:  # "Invalid IPv6 URL", "Port out of range 0-65535"
        reason = str(exc).replace("Port out of range 0-65535", "its port is not 0-65535")
        return f"is not a valid {want} URL ({reason})"
    if parts.scheme not in schemes:
        shown = f"{parts.scheme}://" if parts.scheme else "no scheme"
        return f"is not {a} {want} URL (it has {shown})"
    if not host:
        return f"is not {a} {want} URL with a host"
    if port == 0:
        return "has port 0"
    from ..common.escape import has_control

    if " " in text or has_control(text):
        return "has a space or control character"
    return None


def check_url(
    text: str,
    schemes: tuple[str, ...],
    param: click.Parameter | None,
    ctx: click.Context | None,
    kind: click.ParamType[Any, Any],
) -> None:
    problem = url_problem(text, schemes)
    if problem is not None:
        kind.fail(f"the URL {problem}", param, ctx)


class WsUrl(click.ParamType[str, Any]):
    name = "URL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        check_url(text, ("ws", "wss"), param, ctx, self)
        return text


class HttpUrl(click.ParamType[str, Any]):
    name = "URL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        check_url(text, ("https", "http"), param, ctx, self)
        return text


class FormPattern(click.ParamType[str, Any]):
    """Form globs, comma-separated: ``8-K``, ``10-K*``, ``SCHEDULE 13*``."""

    name = "FORM"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from ..filtering.filters import split_patterns

        text = str(value)
        patterns = split_patterns([text])
        if not patterns:
            self.fail(f"{text!r} names no form", param, ctx)
        for p in patterns:
            if not p.isascii() or not all(ch.isalnum() or ch in " -/*?[]!._" for ch in p):
                self.fail(
                    f"{p!r} is not a form pattern (letters, digits, - / . and globs * ? [])",
                    param,
                    ctx,
                )
        return text

    def shell_complete(
        self, ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[click.shell_completion.CompletionItem]:
        """EDGAR's form types; after a comma, the last item of the list is completed.

        For bash and zsh a value with a space comes back quoted (``'SCHEDULE 13G'``), since
        the shell inserts it as it is; fish quotes by itself."""
        import os

        from click.shell_completion import CompletionItem

        from ..filtering.formcheck import RENAMED, known_forms

        head, _, last = incomplete.rpartition(",")
        head = f"{head}," if _ else ""
        typed = last.strip().upper()
        shell = os.environ.get("_SECFEED_COMPLETE", "")
        quote = shell.startswith(("bash", "zsh"))
        items = []
        for form in known_forms():
            if form.upper().startswith(typed) and form not in RENAMED:
                value = head + form
                if quote and " " in value:
                    value = f"'{value}'"
                items.append(CompletionItem(value))
        return items


class Cik(click.ParamType[int, Any]):
    name = "CIK"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        from ..filtering.filters import parse_cik

        try:
            return parse_cik(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class TickerList(click.ParamType[str, Any]):
    """Tickers, comma-separated; checked against SEC's map when the filter is built."""

    name = "TICKER"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        for item in text.split(","):
            item = item.strip()
            if item and not all(ch.isalnum() or ch in "-." for ch in item):
                self.fail(f"{item!r} is not a ticker (letters, digits, - and .)", param, ctx)
        return text

    def shell_complete(
        self, ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[click.shell_completion.CompletionItem]:
        """Tickers from SEC's map (the one in use: cached or bundled), the biggest companies
        first, with the company as the help text (zsh and fish show it); after a comma, the
        last item is completed. At most :data:`MAX_TICKERS` of them."""
        from click.shell_completion import CompletionItem

        from ..companies import tickers

        head, comma, last = incomplete.rpartition(",")
        head = f"{head}," if comma else ""
        typed = last.strip().upper()
        known = tickers.directory()  # completion: nothing is said
        items = []
        for ticker, ciks in known.by_ticker.items():
            if ticker.startswith(typed):
                items.append(CompletionItem(head + ticker, help=known.name.get(ciks[0], "")))
                if len(items) >= MAX_TICKERS:
                    break
        return items


#: The most tickers offered at once (SEC's map has about 10,000).
MAX_TICKERS = 200


class ProxyUrl(click.ParamType[str, Any]):
    """A proxy: ``http://`` (CONNECT), ``socks5://`` or ``socks5h://``, with ``user:pass@``
    if it needs them (``host:port`` alone is HTTP)."""

    name = "URL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        problem = proxy_problem(text)
        if problem is not None:
            self.fail(problem, param, ctx)
        return text


def proxy_problem(text: str) -> str | None:
    """What is wrong with a proxy URL, said without repeating it (it may hold a password)."""
    problem = url_problem(
        text if "://" in text else f"http://{text}", ("http", "socks5", "socks5h")
    )
    return None if problem is None else f"the proxy URL {problem}"


class NatsUrl(click.ParamType[str, Any]):
    name = "URL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        check_url(text, ("nats", "tls"), param, ctx, self)
        return text


class SourceUrl(NatsUrl):
    """``--from``: a NATS URL, or the path of an archive (anything without ``://``)."""

    name = "URL|PATH"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if "://" not in text:
            return text
        return super().convert(text, param, ctx)


class Duration(click.ParamType[float, Any]):
    """Seconds, or a number with s, m, h or d: ``90``, ``30m``, ``1h``, ``7d``."""

    name = "DURATION"
    UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, (int, float)):
            seconds = float(value)
        else:
            text = str(value).strip().lower()
            unit = self.UNITS.get(text[-1:], 0)
            try:
                seconds = float(text[:-1] if unit else text) * (unit or 1)
            except ValueError:
                self.fail(f"{value!r} is not a duration (90, 30m, 1h, 7d)", param, ctx)
        if not seconds > 0:
            self.fail(f"{value!r} is not a positive duration", param, ctx)
        return seconds


DURATION = Duration()


class When(click.ParamType[datetime, Any]):
    """``--since``: an age (``15m``, ``2h``, ``1d``), a date, or a time (see ``when.py``);
    converted to an aware UTC datetime when the option is read."""

    name = "WHEN"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        from ..filtering.when import parse_when

        if isinstance(value, datetime):
            return value
        try:
            return parse_when(str(value), datetime.now(timezone.utc))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
