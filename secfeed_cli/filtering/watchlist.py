"""``--ticker`` and ``--watchlist``: tickers and CIKs turned into the set of CIKs to show.

A ticker means every CIK that SEC's map gives it (``tickers.py``); a ticker the map does not
know is an error that names the closest ones, since a filter that silently matches nothing
would look like a quiet day.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..common.config import Warn  # told of what is skipped, and of an unusable cached map


class WatchlistError(ValueError):
    """A ticker the map does not know, or a watchlist that cannot be read."""


def resolve_tickers(
    tickers: Iterable[str], where: str = "--ticker", warn: Warn | None = None
) -> set[int]:
    from ..companies.tickers import directory

    wanted: set[int] = set()
    for ticker in tickers:
        found = directory(warn)
        ciks = found.ciks_of(ticker)
        if not ciks:
            close = found.closest_tickers(ticker)
            hint = f" (closest: {', '.join(close)})" if close else ""
            raise WatchlistError(
                f"{where}: unknown ticker {ticker!r}{hint}; SEC's map of {found.date} does not"
                " list it (secfeed tickers update fetches the newest)"
            )
        wanted.update(ciks)
    return wanted


#: The largest watchlist read: far more tickers and CIKs than SEC's map has.
MAX_WATCHLIST = 4 << 20


def read_watchlist(path: str, warn: Warn) -> set[int]:
    """One ticker or CIK per line; ``#`` starts a comment; blank lines are skipped.

    A ticker SEC's map no longer lists (delisted since the list was written) is a warning
    naming the file and line, and the rest is used: a cron snapshot does not stop over one
    stale line. Only a watchlist of which nothing resolves is an error."""
    from ..common.config import ConfigError, read_text_file
    from .filters import parse_cik

    try:
        lines = read_text_file(path, MAX_WATCHLIST, "watchlist").splitlines()
    except ConfigError as exc:
        raise WatchlistError(str(exc)) from None
    wanted: set[int] = set()
    unknown: list[str] = []
    items = 0
    for number, line in enumerate(lines, 1):
        item = line.split("#", 1)[0].strip()
        if not item:
            continue
        items += 1
        where = f"watchlist {path} line {number}"
        if item.isdigit():
            try:
                wanted.add(parse_cik(item))
            except ValueError as exc:
                raise WatchlistError(f"{where}: {exc}") from None
        else:
            try:
                wanted |= resolve_tickers([item], where, warn)
            except WatchlistError as exc:
                unknown.append(str(exc))
    if unknown and len(unknown) == items:
        raise WatchlistError(f"nothing in the watchlist resolves: {unknown[0]}")
    for text in unknown:
        warn(f"{text}; skipped")
    return wanted
