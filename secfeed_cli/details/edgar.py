"""The EDGAR client: one per process, keeping SEC's rules for every request it makes.

SEC's "Accessing EDGAR Data" asks for a declared User-Agent naming the requester and a contact
email, and at most 10 requests a second per organisation; past that, or without the
User-Agent, SEC answers 403 with its "Request Rate Threshold Exceeded" or "Undeclared
Automated Tool" page and blocks the address for 10 minutes, longer if the requests go on. So:

- every request carries the User-Agent, and asks for gzip (decoded under a cap, by httpget);
  each fetching thread keeps its connection to EDGAR open between requests (keep-alive);
- a shared pace: requests start at least ``1 / rate`` seconds apart, across threads
  (``--edgar-rate``, default 5, never above 10);
- a 403 or a 429 stops *every* EDGAR request of the process for :data:`BLOCK` seconds: no
  retry storm, each caller told at once when the next request may go;
- the pace is kept per request that reaches the server, each redirect's included, with a
  margin for requests that leave a little apart and arrive closer together;
- a 404 is :class:`NotFound` (EDGAR can lag the feed: the caller may ask again later);
- what was fetched and read is kept on disk (a filing never changes): asked again, it costs
  nothing. The cache is kept apart for each EDGAR (``--edgar-url``), and a document that
  could not be read is never kept (:meth:`EdgarClient.read`).

The clock and the sleep are passed in (the tests use their own); the fetch is ``httpget``'s
(one deadline, capped sizes, proxies from the environment).
"""

from __future__ import annotations

import math
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from ..feed import httpget

DEFAULT_URL = "https://www.sec.gov"
#: SEC's limit, requests a second; and secfeed's default share of it.
MAX_RATE = 10.0
DEFAULT_RATE = 5.0
#: How long SEC blocks a client that went over (seconds): no request goes out meanwhile.
BLOCK = 600.0
#: A document's size at most, as sent and decoded (a Form 4 submission is 8-60 KB, with its
#: exhibits more; an 8-K's index-headers page about 5 KB).
MAX_SENT = 8 << 20
MAX_DECODED = 16 << 20
_ACCESSION = re.compile(r"\d{10}-\d{2}-\d{6}\Z")


class EdgarError(Exception):
    """A document could not be had; ``str()`` is one line."""


class NotFound(EdgarError):
    """404: not (yet) on EDGAR."""


class Blocked(EdgarError):
    """SEC refused (403/429): no EDGAR request until ``until`` (the client's clock)."""

    def __init__(self, text: str, until: float) -> None:
        super().__init__(text)
        self.until = until


def submission_path(cik: int, accession: str) -> str:
    """The full submission text (SEC header, then every document): Forms 3, 4, 5, 13D/G."""
    return f"{_folder(cik, accession)}/{accession}.txt"


def index_headers_path(cik: int, accession: str) -> str:
    """The index page with the SEC header in a comment (~5 KB): an 8-K's items."""
    return f"{_folder(cik, accession)}/{accession}-index-headers.html"


#: Where a document's URL points in the output: EDGAR itself, whichever EDGAR was asked (a
#: mirror's or a test's address is not the filing's).
PUBLIC_URL = "https://www.sec.gov"


def folder_path(cik: int, accession: str) -> str:
    """``/Archives/edgar/data/{cik}/{accession without dashes}``: the filing's folder."""
    return _folder(cik, accession)


def _folder(cik: int, accession: str) -> str:
    if not _ACCESSION.match(accession) or not 0 < cik < 10**10:
        raise ValueError(f"not a CIK and accession number: {cik} {accession!r}")
    return f"/Archives/edgar/data/{cik}/{accession.replace('-', '')}"


#: The window the rate is kept over, over a second by a margin: SEC counts requests as they
#: arrive, and a connection being opened or a busy network can bring two of them closer
#: together than they were sent (about 10 ms was seen on loopback; the margin is 100 ms).
#: So at most ``rate`` requests arrive within any second, and the pace over a long run is
#: ``rate / WINDOW`` (4.5 a second at the default 5).
WINDOW = 1.1

T = TypeVar("T")


class Pace:
    """Requests start at least ``1 / rate`` seconds apart, and never more than ``rate`` of
    them within :data:`WINDOW` seconds, whichever thread asks."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 0 < rate <= MAX_RATE:
            raise ValueError(f"an EDGAR rate must be above 0 and at most {MAX_RATE:g} a second")
        self.interval = 1.0 / rate
        self.clock = clock
        self.sleep = sleep
        self._next = -float("inf")
        self._recent: deque[float] = deque(maxlen=max(1, math.floor(rate)))
        self._lock = threading.Lock()

    def wait(self, urgent: bool = False) -> None:
        """Take the next slot and wait for it. ``urgent`` (a live filing's request) takes
        the next free slot at once; any other waits until a slot is free *now* and takes it
        then, so it never holds a slot ahead of an urgent one that comes meanwhile: a live
        filing's request waits at most one slot, however long the backlog's queue."""
        while True:
            with self._lock:
                now = self.clock()
                slot = max(now, self._next)
                recent = self._recent
                if len(recent) == recent.maxlen:
                    slot = max(slot, recent[0] + WINDOW)
                if urgent or slot <= now:
                    recent.append(slot)
                    self._next = slot + self.interval
                    break
            self.sleep(slot - now)  # then try again: an urgent request may have taken it
        if slot > now:
            self.sleep(slot - now)


class EdgarClient:
    def __init__(
        self,
        user_agent: str,
        base_url: str = DEFAULT_URL,
        rate: float = DEFAULT_RATE,
        cache: Path | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        fetch: Callable[..., httpget.Answer] = httpget.get,
    ) -> None:
        if "@" not in user_agent:
            raise ValueError("SEC wants a User-Agent with a name and a contact email")
        self.user_agent = user_agent
        self.base_url = base_url.rstrip("/")
        self.cache = cache
        self.timeout = timeout
        self.clock = clock
        self.pace = Pace(rate, clock, sleep)
        self.fetch = fetch
        self.blocked_until = -float("inf")
        self.requests = 0  # sent, for the status line and the summary
        self._lock = threading.Lock()
        self._kept = threading.local()  # each thread's kept-alive connection to EDGAR
        self._urgency = threading.local()  # each thread's: is it asking for a live filing
        self._all_kept: list[httpget.Kept] = []

    def read(self, path: str, parse: Callable[[bytes], T]) -> T:
        """The document at ``path`` read by ``parse``: from the cache, else from EDGAR. It is
        kept only once ``parse`` has read it; a kept copy that ``parse`` refuses is dropped
        (either way, the next run asks EDGAR again)."""
        cached = self._cached(path)
        if cached is not None:
            try:
                return parse(cached)
            except BaseException:
                self._drop(path)
                raise
        body = self.document(path, cache=False)
        result = parse(body)
        self._keep(path, body)
        return result

    def document(self, path: str, cache: bool = True) -> bytes:
        """The document at ``path`` (``/Archives/...``): from the cache, else from EDGAR.
        ``cache=False``: a page that changes (an index, the latest-filings feed), never kept."""
        cached = self._cached(path) if cache else None
        if cached is not None:
            return cached
        self._check_blocked()
        headers = {"User-Agent": self.user_agent}  # httpget asks for gzip itself
        kept = self._kept
        keep = getattr(kept, "connection", None)
        if keep is None:
            keep = kept.connection = httpget.Kept()
            with self._lock:
                self._all_kept.append(keep)
        try:
            answer = self.fetch(
                self.base_url + path,
                headers,
                self.timeout,
                MAX_SENT,
                MAX_DECODED,
                keep=keep,
                before_each=self._take_slot,
            )
        except httpget.FetchError as exc:
            raise EdgarError(str(exc)) from None
        finally:
            if self._kept is not kept:  # closed while this request was out: so is its socket
                keep.close()
        if answer.status == 200:
            if cache:
                self._keep(path, answer.body)
            return answer.body
        if answer.status == 404:
            raise NotFound(f"{path} is not on EDGAR (yet)")
        if answer.status in (403, 429):
            with self._lock:
                self.blocked_until = max(self.blocked_until, self.clock() + BLOCK)
            self._check_blocked(f"SEC answered {answer.status} {answer.reason}".rstrip())
        raise EdgarError(f"SEC answered {answer.status} {answer.reason} for {path}".rstrip())

    def urgent(self, flag: bool) -> None:
        """This thread's next requests are for a live filing (True): they go before any
        backlog filing's (see :meth:`Pace.wait`)."""
        self._urgency.flag = flag

    def _take_slot(self) -> None:
        """Before each request that goes out, a redirect's too: the pace, and no request at
        all while SEC blocks us."""
        self._check_blocked()
        self.pace.wait(urgent=getattr(self._urgency, "flag", False))
        self._check_blocked()  # another thread may have been refused meanwhile
        with self._lock:
            self.requests += 1

    def close(self) -> None:
        """Close the connections kept open (the run is over). The client can still be used
        (``secfeed ui`` asks on demand after a run ended): each thread then opens a new
        connection, which the next close closes."""
        with self._lock:
            kept, self._all_kept = self._all_kept, []
            self._kept = threading.local()
        for keep in kept:
            keep.close()

    def blocked_for(self) -> float:
        """Seconds until EDGAR may be asked again after a 403/429 (0: it may now)."""
        return max(0.0, self.blocked_until - self.clock())

    def _check_blocked(self, why: str = "SEC refused an earlier request") -> None:
        left = self.blocked_for()
        if left > 0:
            raise Blocked(
                f"{why}: no EDGAR request for {left / 60:.0f} min (SEC blocks for 10 minutes,"
                " longer if requests go on)",
                self.blocked_until,
            )

    def _cache_file(self, path: str) -> Path | None:
        """``{cache}/{origin}/{cik}/{folder}/{file}``: the origin (``www.sec.gov``,
        ``127.0.0.1_8080``) keeps what two EDGARs served apart."""
        if self.cache is None:
            return None
        parts = [p for p in path.split("/") if p]
        if not parts or any(p in (".", "..") for p in parts):
            return None
        return self.cache.joinpath(self._origin, *parts[-3:])

    @property
    def _origin(self) -> str:
        url = urlsplit(self.base_url)
        host = (url.hostname or "edgar").lower()
        name = host if url.port is None else f"{host}_{url.port}"
        name = re.sub(r"[^a-z0-9._-]", "_", name)
        return name if url.scheme == "https" else f"{url.scheme or 'http'}_{name}"

    def _drop(self, path: str) -> None:
        file = self._cache_file(path)
        if file is not None:
            try:
                file.unlink()
            except OSError:
                pass

    def _cached(self, path: str) -> bytes | None:
        file = self._cache_file(path)
        if file is None:
            return None
        try:
            return file.read_bytes()
        except OSError:
            return None

    def _keep(self, path: str, body: bytes) -> None:
        """Into the cache, whole or not at all (a temporary file renamed); best effort."""
        file = self._cache_file(path)
        if file is None:
            return
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            tmp = file.with_name(f".{file.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_bytes(body)
            os.replace(tmp, file)
        except OSError:
            pass  # a full or read-only cache only costs a request next time
