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
    """Filings whose company, description or 8-K item names hold all these words (exit 1
    when none does, as grep)."""
    from ..archive.query import QueryError
    from ..archive.query import search as run_search

    try:
        columns, rows = run_search(path, words, limit)
    except QueryError as exc:
        raise click.UsageError(str(exc)) from None
    if not _print(columns, rows, fmt, found=True):
        raise click.exceptions.Exit(1)  # no match, as grep and tickers lookup say it


def _print(columns: list[str], rows: Any, fmt: str, found: bool = False) -> int:
    """The rows as they come: the first are out at once, a closed pipe ends the query, and a
    signal stops it however long it would run. Returns how many there were."""
    import sqlite3

    from ..archive.query import write_rows
    from ..archive.schema import stoppable
    from ..errors import ArchiveError
    from .groups import environment

    env = environment()
    if fmt == "auto":
        fmt = "table" if env.isatty() else "ndjson"
    try:
        with stoppable(rows.connection):
            if found and fmt == "table":  # a search's filings, one line each, as the live table
                import shutil

                from ..archive.query import write_found

                width = shutil.get_terminal_size((160, 24)).columns if env.isatty() else 160
                return write_found(columns, rows, width, env.write)
            lists = frozenset({"items"}) if found else frozenset()
            return write_rows(columns, rows, fmt, env.write, lists)
    except sqlite3.Error as exc:
        raise ArchiveError(f"archive query: {exc}") from None
