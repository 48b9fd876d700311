"""``secfeed tickers update``: fetch SEC's company_tickers.json into the user cache directory.

SEC's fair-access rules ("Accessing EDGAR Data") ask every automated client to declare a
User-Agent naming the requester with a contact address, and to stay under 10 requests a second;
SEC answers 403 to a request without one. The fetch is conditional (ETag / If-Modified-Since
from the last answer), the body is checked to be the map before it replaces the cached one, and
it replaces it atomically: a failed or truncated download leaves the cache as it was.
"""

from __future__ import annotations

import gzip
import http.client
import time
import urllib.error
import urllib.request
from pathlib import Path

import msgspec

from .errors import ConnectFailed, SecfeedError
from .files import write_atomic
from .tickers import CACHE_NAME, META_NAME, MapError, Row, parse_sec_json, read_meta

SEC_URL = "https://www.sec.gov/files/company_tickers.json"
FAIR_ACCESS = "https://www.sec.gov/os/accessing-edgar-data"
#: A bigger answer is not the map (today's is under 1 MB).
MAX_BODY = 64 << 20


class Updated(msgspec.Struct, frozen=True):
    changed: bool  # False: the server said 304 Not Modified
    rows: int
    ciks: int
    path: Path


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def update(source: str, user_agent: str, folder: Path, timeout: float = 30.0) -> Updated:
    """Fetch ``source`` into ``folder``. Raises ConnectFailed (network, HTTP) or SecfeedError
    (not the map, cannot write); the cached map is then untouched."""
    path = folder / CACHE_NAME
    meta: dict[str, str] = {}
    cached: list[Row] = []
    try:  # a conditional request only for a cached map that is whole
        cached = parse_sec_json(path.read_bytes())
        meta = read_meta(folder)
    except (OSError, MapError):
        pass
    headers = {"User-Agent": user_agent, "Accept-Encoding": "gzip"}
    if meta.get("etag"):
        headers["If-None-Match"] = meta["etag"]
    if meta.get("last_modified"):
        headers["If-Modified-Since"] = meta["last_modified"]
    request = urllib.request.Request(source, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = response.read(MAX_BODY + 1)
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and len(body) < int(declared):
                raise http.client.IncompleteRead(body, int(declared) - len(body))
            encoding = response.headers.get("Content-Encoding", "")
            etag = response.headers.get("ETag")
            modified = response.headers.get("Last-Modified")
    except urllib.error.HTTPError as exc:
        if exc.code == 304 and meta:
            _save_meta(folder, {**meta, "checked": _now()})
            return Updated(False, len(cached), len({r[0] for r in cached}), path)
        raise ConnectFailed(_http_error(source, exc.code, exc.reason, user_agent)) from None
    except urllib.error.URLError as exc:
        raise ConnectFailed(f"cannot fetch {source}: {exc.reason}") from None
    except http.client.IncompleteRead as exc:
        raise ConnectFailed(
            f"{source} closed the connection after {len(exc.partial):,} bytes of the answer;"
            " the cached map is unchanged"
        ) from None
    except (OSError, http.client.HTTPException) as exc:
        raise ConnectFailed(f"cannot fetch {source}: {exc}") from None
    if len(body) > MAX_BODY:
        raise SecfeedError(f"{source} sent more than {MAX_BODY >> 20} MiB: not the ticker map")
    try:
        if encoding == "gzip":
            body = gzip.decompress(body)
        rows = parse_sec_json(body)
    except (MapError, OSError, EOFError) as exc:
        raise SecfeedError(
            f"the answer from {source} is not SEC's company_tickers.json ({exc});"
            " the cached map is unchanged"
        ) from None
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(str(path), body)
    now = _now()
    fresh = {"source": source, "fetched": now, "checked": now}
    if etag:
        fresh["etag"] = etag
    if modified:
        fresh["last_modified"] = modified
    _save_meta(folder, fresh)
    return Updated(True, len(rows), len({r[0] for r in rows}), path)


def _http_error(source: str, code: int, reason: str, user_agent: str) -> str:
    text = f"{source} answered HTTP {code} {reason}".rstrip()
    if code in (403, 429):
        text += (
            f". SEC refuses clients that do not declare who they are or that ask too often: it"
            f" wants a User-Agent with your name and email (sent: {user_agent!r}) and at most"
            f" 10 requests a second ({FAIR_ACCESS})"
        )
    return text


def _save_meta(folder: Path, meta: dict[str, str]) -> None:
    write_atomic(str(folder / META_NAME), msgspec.json.format(msgspec.json.encode(meta), indent=2))
