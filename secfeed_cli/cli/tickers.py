"""``secfeed tickers``: update, inspect and search SEC's CIK -> company/ticker map."""

from __future__ import annotations

import sys
import time

import click

from ..companies import SEC_URL
from .configfile import config_option
from .groups import environment
from .params import DURATION, EnvOption


@click.group()
def tickers() -> None:
    """The map of CIKs to company names and tickers behind the company and ticker fields.

    \b
    secfeed tickers update --user-agent "Jane Doe jane@example.com"
    secfeed tickers info
    secfeed tickers lookup AAPL 0000789019 "berkshire"
    """


@tickers.command()
@config_option
@click.option(
    "--user-agent",
    cls=EnvOption,
    envvar="SECFEED_USER_AGENT",
    show_envvar=True,
    metavar="'NAME EMAIL'",
    help="Who is asking, as SEC requires: your name and a contact email.",
)
@click.option(
    "--source",
    default=SEC_URL,
    show_default=True,
    metavar="URL",
    help="Where to fetch the map from (a mirror, or a test server).",
)
@click.option(
    "--timeout",
    type=DURATION,
    default=60.0,
    show_default=True,
    metavar="S",
    help="Give up after S seconds in all, however slowly the source answers.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Take a map far smaller than the one in use, or implausibly large.",
)
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")
def update(user_agent: str | None, source: str, timeout: float, force: bool, quiet: bool) -> None:
    """Fetch SEC's company_tickers.json into the cache; later runs use it."""
    from ..companies.tickers import cache_dir
    from ..companies.update import FAIR_ACCESS
    from ..companies.update import update as fetch

    if user_agent and "@" not in user_agent:
        raise click.UsageError(
            f"--user-agent {user_agent!r} has no email address: SEC wants a name and a contact"
            " email, as in 'Your Name you@example.com'"
        )
    if not user_agent:
        raise click.UsageError(
            "SEC's fair-access rules require every automated client to say who it is: pass"
            " --user-agent 'Your Name you@example.com' (or set SECFEED_USER_AGENT, or"
            f" user-agent in the config file); SEC answers 403 otherwise ({FAIR_ACCESS})"
        )
    from ..common.escape import has_control

    if has_control(user_agent):
        raise click.UsageError("--user-agent has a control character (a line break?)")
    if not source.startswith(("https://", "http://")):
        raise click.UsageError("--source is not an http:// or https:// URL")
    env = environment()
    env.secrets.add_url(source)  # sent as a Basic credential: httpget.py
    result = fetch(source, user_agent, cache_dir(), timeout=timeout, force=force)
    diag = env.diagnostics(quiet=quiet)
    if result.changed:
        diag.info(f"ticker map updated: {result.rows:,} rows, {result.ciks:,} CIKs, {result.path}")
    else:
        diag.info(f"ticker map unchanged since the last update (HTTP 304): {result.path}")


@tickers.command()
def info() -> None:
    """Which map is in use, where it came from, and how old it is."""
    from ..companies.tickers import STALE_DAYS, directory

    diag = environment().diagnostics()
    found = directory(diag.warn)
    when = found.date
    age = _age_days(when)
    lines = [
        ("map", "cached (secfeed tickers update)" if found.path else "bundled with secfeed"),
        ("file", str(found.path) if found.path else "(in the package)"),
        ("source", found.source),
        ("as of", when),
        ("age", f"{age} days" if age is not None else "?"),
        ("rows", f"{len(found.rows):,}"),
        ("ciks", f"{len(found.name):,}"),
        ("tickers", f"{len(found.by_ticker):,}"),
    ]
    click.echo("\n".join(f"{k + ':':9}{v}" for k, v in lines))
    if age is not None and age > STALE_DAYS:
        diag.warn(
            f"the ticker map is {age} days old (over {STALE_DAYS}): tickers change;"
            " run: secfeed tickers update --user-agent 'Your Name you@example.com'"
        )


def _age_days(stamp: str) -> int | None:
    for fmt in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d"):
        try:
            return int((time.time() - _utc(time.strptime(stamp, fmt))) // 86400)
        except ValueError:
            continue
    return None


def _utc(parts: time.struct_time) -> float:
    import calendar

    return float(calendar.timegm(parts))


@tickers.command()
@click.argument("queries", nargs=-1, required=True, metavar="QUERY...")
def lookup(queries: tuple[str, ...]) -> None:
    """Find companies by ticker, CIK (leading zeros fine) or part of the name.

    A table on a terminal, NDJSON otherwise; exit 1 when a query matches nothing.
    """
    import msgspec

    from ..companies.tickers import directory
    from ..errors import SecfeedError

    diag = environment().diagnostics()
    found = directory(diag.warn)
    rows = []
    missing = []
    for query in queries:
        ciks = found.lookup(query)
        if not ciks:
            missing.append(query)
        for cik in ciks:
            rows.append(
                {
                    "query": query,
                    "cik": cik,
                    "tickers": found.tickers.get(cik, []),
                    "name": found.name[cik],
                }
            )
    if sys.stdout.isatty():
        for row in rows:
            tickers = ",".join(row["tickers"]) or "-"  # type: ignore[arg-type]
            click.echo(f"{row['cik']:>10}  {tickers:<16}  {row['name']}")
    else:
        out = sys.stdout.buffer
        out.write(msgspec.json.Encoder().encode_lines(rows))
        out.flush()
    if missing:
        names = ", ".join(repr(q) for q in missing)
        diag.warn(f"no company matches {names}")
        raise SecfeedError("")
