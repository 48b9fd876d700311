"""``secfeed tickers update``: fetch SEC's company_tickers.json into the user cache directory.

SEC's fair-access rules ("Accessing EDGAR Data") ask every automated client to declare a
User-Agent naming the requester with a contact address, and to stay under 10 requests a second;
SEC answers 403 to a request without one. The fetch is conditional (ETag / If-Modified-Since
from the last answer), bounded (one deadline, capped size also once decompressed, no redirect
to another host or from https to http: ``httpget.py``), and the body is checked to be the map,
and a plausible one, before it replaces the cached one atomically: a failed, truncated or
implausible download leaves the cache as it was.
"""

from __future__ import annotations

import time
from pathlib import Path

import msgspec

from ..common.capped import FileTooLarge, read_limited
from ..common.files import write_atomic
from ..errors import ConnectFailed, SecfeedError
from ..feed.httpget import FetchError, get, shown
from .tickers import (
    CACHE_NAME,
    MAX_MAP,
    META_NAME,
    MapError,
    Row,
    load_bundled,
    parse_sec_json,
    read_meta,
)

FAIR_ACCESS = "https://www.sec.gov/os/accessing-edgar-data"
#: A new map with fewer rows than this share of the one in use is refused unless forced.
SHRINK = 0.5
#: Nor one with more rows than this (SEC's has about 10,300: a map of 400,000 made every
#: later run load for 1.7 s and hold 384 MB).
MAX_ROWS = 40_000


class Updated(msgspec.Struct, frozen=True):
    changed: bool  # False: the server said 304 Not Modified
    rows: int
    ciks: int
    path: Path


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def update(
    source: str, user_agent: str, folder: Path, timeout: float = 60.0, force: bool = False
) -> Updated:
    """Fetch ``source`` into ``folder`` within ``timeout`` seconds in all. Raises
    ConnectFailed (network, HTTP, redirect, too slow) or SecfeedError (not the map, an
    implausible one, cannot write); the cached map is then untouched."""
    name = shown(source)
    path = folder / CACHE_NAME
    meta: dict[str, str] = {}
    cached: list[Row] = []
    try:  # a conditional request only for a cached map that is whole
        cached = parse_sec_json(read_limited(path, MAX_MAP))
        meta = read_meta(folder)
    except (OSError, FileTooLarge, MapError):
        pass
    headers = {"User-Agent": user_agent}
    if meta.get("etag"):
        headers["If-None-Match"] = meta["etag"]
    if meta.get("last_modified"):
        headers["If-Modified-Since"] = meta["last_modified"]
    try:
        answer = get(source, headers, timeout, MAX_MAP, MAX_MAP)
    except FetchError as exc:
        raise ConnectFailed(f"{exc}; the cached map is unchanged") from None
    if answer.status == 304 and meta:
        _save_meta(folder, {**meta, "checked": _now()})
        return Updated(False, len(cached), len({r[0] for r in cached}), path)
    if answer.status != 200:
        raise ConnectFailed(_http_error(name, answer.status, answer.reason, user_agent))
    try:
        rows = parse_sec_json(answer.body)
    except MapError as exc:
        raise SecfeedError(
            f"the answer from {name} is not SEC's company_tickers.json ({exc});"
            " the cached map is unchanged"
        ) from None
    if not force:
        _check_plausible(len(rows), len(cached) or len(load_bundled().rows), name)
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(str(path), answer.body)
    now = _now()
    fresh = {"source": name, "fetched": now, "checked": now}
    if answer.headers.get("etag"):
        fresh["etag"] = answer.headers["etag"]
    if answer.headers.get("last-modified"):
        fresh["last_modified"] = answer.headers["last-modified"]
    _save_meta(folder, fresh)
    return Updated(True, len(rows), len({r[0] for r in rows}), path)


def _check_plausible(new: int, current: int, name: str) -> None:
    if new < current * SHRINK:
        raise SecfeedError(
            f"the map from {name} has {new:,} rows, far fewer than the {current:,} of the map"
            " in use; not replaced (--force to take it anyway)"
        )
    if new > MAX_ROWS:
        raise SecfeedError(
            f"the map from {name} has {new:,} rows, more than any real one ({MAX_ROWS:,} at"
            " most); not replaced (--force to take it anyway)"
        )


def _http_error(name: str, code: int, reason: str, user_agent: str) -> str:
    text = f"{name} answered HTTP {code} {reason}".rstrip()
    if code in (403, 429):
        text += (
            f". SEC refuses clients that do not declare who they are or that ask too often: it"
            f" wants a User-Agent with your name and email (sent: {user_agent!r}) and at most"
            f" 10 requests a second ({FAIR_ACCESS})"
        )
    return text


def _save_meta(folder: Path, meta: dict[str, str]) -> None:
    write_atomic(str(folder / META_NAME), msgspec.json.format(msgspec.json.encode(meta), indent=2))
