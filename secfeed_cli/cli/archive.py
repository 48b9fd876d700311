"""``secfeed archive``: what an archive holds, SQL over it, and a word search. Read-only."""

from __future__ import annotations

from typing import Any

import click

from .groups import F


def _formats(f: F) -> F:
    return click.option(
        "-f",
        "--format",
        "fmt",
        type=click.Choice(["auto", "table", "ndjson", "csv"]),
        default="auto",
        show_default=True,
        help="auto: a table on a terminal, NDJSON otherwise.",
    )(f)


@click.group()
def archive() -> None:
    """Read an archive that --archive PATH fills: stats, SQL queries, word search."""


@archive.command()
@click.argument("path", type=click.Path(dir_okay=False))
def stats(path: str) -> None:
    """How many filings, from when to when, by form, and the file's size."""
    from ..archive.query import stats as read_stats

    for line in read_stats(path):
        click.echo(line)


@archive.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.argument("sql")
@_formats
def query(path: str, sql: str, fmt: str) -> None:
    """Run one SQL statement on the archive, read-only (no statement can change it)."""
    from ..archive.query import QueryError, run_query

    try:
        columns, rows = run_query(path, sql)
    except QueryError as exc:
        raise click.UsageError(str(exc)) from None
    _print(columns, rows, fmt)


@archive.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.argument("words", nargs=-1, required=True)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="The newest N matches.",
)
@_formats
def search(path: str, words: tuple[str, ...], limit: int, fmt: str) -> None:
    """Filings whose company, description or 8-K item names hold all these words."""
    from ..archive.query import QueryError
    from ..archive.query import search as run_search

    try:
        columns, rows = run_search(path, words, limit)
    except QueryError as exc:
        raise click.UsageError(str(exc)) from None
    _print(columns, rows, fmt)


def _print(columns: list[str], rows: list[tuple[Any, ...]], fmt: str) -> None:
    from ..archive.query import render
    from . import _environment

    env = _environment()
    if fmt == "auto":
        fmt = "table" if env.isatty() else "ndjson"
    env.write(render(columns, rows, fmt))
