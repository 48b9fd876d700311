"""Who filed it: SEC's map of CIKs to company names and tickers, bundled and cached.

The map is SEC's ``company_tickers.json`` (https://www.sec.gov/files/company_tickers.json):
rows of CIK, ticker and name in SEC's order, where a CIK's first row carries its primary ticker.
secfeed ships a copy (``data/company-tickers.json``, built by ``scripts/make_tickers.py``)
and prefers a newer one fetched by ``secfeed tickers update`` into the user cache directory.
Nothing here runs at import: :func:`directory` loads the map on first use.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import msgspec

from ..common.capped import FileTooLarge, read_limited
from ..common.escape import escape_control

BUNDLED = Path(__file__).resolve().parent.parent / "data" / "company-tickers.json"
CACHE_NAME = "company_tickers.json"
#: The largest map read or fetched (SEC's is under 1 MB).
MAX_MAP = 16 << 20
META_NAME = "company_tickers.meta.json"
#: ``secfeed tickers info`` warns about a cached map older than this.
STALE_DAYS = 30

Row = tuple[int, str, str]  # cik, ticker, name


class MapError(ValueError):
    """The data is not SEC's company_tickers.json (or our bundled copy of it)."""


def parse_sec_json(data: bytes) -> list[Row]:
    """SEC's ``{"0": {"cik_str": 320193, "ticker": "AAPL", "title": "Apple Inc."}, ...}``,
    as rows in SEC's order. Raises MapError on anything else."""
    try:
        doc = msgspec.json.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise MapError(f"not JSON ({exc})") from None
    if not isinstance(doc, dict) or not doc:
        raise MapError("not an object of rows")
    rows = []
    for key, value in doc.items():
        if not isinstance(value, dict):
            raise MapError(f"row {key!r} is not an object")
        cik, ticker, title = value.get("cik_str"), value.get("ticker"), value.get("title")
        if isinstance(cik, str) and cik.isdigit():
            cik = int(cik)
        if (
            not isinstance(cik, int)
            or isinstance(cik, bool)
            or not 0 < cik < 10**10
            or not isinstance(ticker, str)
            or not isinstance(title, str)
        ):
            raise MapError(f"row {key!r} lacks an integer cik_str, a ticker or a title")
        rows.append((cik, _clean(ticker), _clean(title)))
    try:  # the keys are positions: "0", "1", ... (kept in that order)
        rows = [row for _, row in sorted(zip(map(int, doc), rows, strict=True))]
    except ValueError:
        pass
    return rows


def _clean(text: str) -> str:
    """One line, no control characters (the map comes from the network)."""
    return escape_control(" ".join(text.split()))


class Bundled(msgspec.Struct):
    """The bundled map's file, as ``scripts/make_tickers.py`` writes it: what the first filing
    needs ready to use, each CIK once (its first row's name, its tickers primary first), so
    that loading it is msgspec's decoding and two ``dict(zip(...))``, no Python loop over the
    rows; SEC's rows themselves are decoded only when asked for (:attr:`Directory.rows`)."""

    source: str
    date: str
    cik: list[int]  # in the order of each CIK's first row
    name: list[str]
    tickers: list[list[str]]
    rows: msgspec.Raw  # a Columns


class Columns(msgspec.Struct):
    """SEC's rows in its order, a list per field."""

    cik: list[int]
    ticker: list[str]
    name: list[str]


def bundle(rows: list[Row], source: str, date: str) -> bytes:
    """The bundled map's file for these rows (one line per field, for a readable diff)."""
    directory = Directory.from_rows(rows, source, date)
    ciks = list(directory.name)
    columns = Columns(*(list(column) for column in zip(*rows, strict=True)))
    fields = {
        "source": source,
        "date": date,
        "cik": ciks,
        "name": [directory.name[cik] for cik in ciks],
        "tickers": [directory.tickers[cik] for cik in ciks],
        "rows": columns,
    }
    encode = msgspec.json.encode
    lines = [f'"{key}":'.encode() + encode(value) for key, value in fields.items()]
    return b"{\n" + b",\n".join(lines) + b"\n}\n"


class Directory(msgspec.Struct):
    """Names and tickers by CIK, CIKs by ticker; ``source`` and ``date`` say where from.

    Made from SEC's rows (:meth:`from_rows`), or from the bundled file (:func:`load_bundled`),
    whose rows are decoded on first use of :attr:`rows`."""

    source: str
    date: str  # when the copy was current: YYYY-MM-DD (bundled), or the last check (cached)
    path: Path | None = None  # the cached file, None for the bundled copy
    name: dict[int, str] = msgspec.field(default_factory=dict)
    tickers: dict[int, list[str]] = msgspec.field(default_factory=dict)
    _rows: list[Row] | None = None
    _columns: msgspec.Raw | None = None  # the bundled file's rows, not decoded yet
    _by_ticker: dict[str, list[int]] = msgspec.field(default_factory=dict)
    _squashed: dict[str, list[int]] = msgspec.field(default_factory=dict)

    @classmethod
    def from_rows(
        cls, rows: list[Row], source: str, date: str, path: Path | None = None
    ) -> Directory:
        name: dict[int, str] = {}
        tickers: dict[int, list[str]] = {}
        for cik, ticker, title in rows:
            known = tickers.get(cik)
            if known is None:
                name[cik] = title
                tickers[cik] = [ticker] if ticker else []
            elif ticker and ticker not in known:
                known.append(ticker)
        return cls(source, date, path, name, tickers, rows)

    @property
    def rows(self) -> list[Row]:
        """SEC's rows, in its order: CIK, ticker, name."""
        if self._rows is None:
            assert self._columns is not None
            columns = msgspec.json.decode(self._columns, type=Columns)
            self._rows = list(zip(columns.cik, columns.ticker, columns.name, strict=True))
        return self._rows

    @property
    def by_ticker(self) -> dict[str, list[int]]:
        """CIKs by upper-case ticker, in SEC's order."""
        if not self._by_ticker:
            for cik, ticker, _ in self.rows:
                ciks = self._by_ticker.setdefault(ticker.upper(), [])
                if cik not in ciks:
                    ciks.append(cik)
        return self._by_ticker

    def primary(self, cik: int) -> str | None:
        found = self.tickers.get(cik)
        return found[0] if found else None

    def ciks_of(self, ticker: str) -> list[int]:
        """The CIKs of a ticker; ``BRK.B``, ``BRKB`` and ``brk-b`` all find ``BRK-B``."""
        exact = self.by_ticker.get(ticker.strip().upper())
        if exact:
            return exact
        if not self._squashed:
            for known, ciks in self.by_ticker.items():
                self._squashed.setdefault(_squash(known), []).extend(ciks)
        return self._squashed.get(_squash(ticker), [])

    def closest_tickers(self, ticker: str, n: int = 3) -> list[str]:
        """Known tickers one or two edits away (a swap counts as one; ``-`` and ``.`` do not
        count), the biggest companies (SEC's order) first; else difflib's closest."""
        typed = _squash(ticker)
        near = []
        for rank, known in enumerate(self.by_ticker):
            other = _squash(known)
            if abs(len(other) - len(typed)) <= 2:
                distance = _edits(typed, other)
                if distance <= 2:
                    near.append((distance, rank, known))
        if near:
            return [known for *_, known in sorted(near)[:n]]
        import difflib

        return difflib.get_close_matches(typed, list(self.by_ticker), n=n)

    def lookup(self, query: str, limit: int = 20) -> list[int]:
        """CIKs for a ticker, a CIK (leading zeros fine) or part of a name, best first."""
        text = query.strip()
        if text.isdigit():
            cik = int(text)
            return [cik] if cik in self.name else []
        exact = self.ciks_of(text)
        if exact:
            return exact
        needle = text.casefold()
        return [cik for cik, title in self.name.items() if needle in title.casefold()][:limit]


def _squash(ticker: str) -> str:
    return ticker.strip().upper().replace("-", "").replace(".", "")


def _edits(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, swaps."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = ca != cb
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


# -- where the map comes from --


def cache_dir(env: dict[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/secfeed``, else the platform's user cache directory."""
    env = dict(os.environ) if env is None else env
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]) / "secfeed"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "secfeed"
    if sys.platform == "win32" and env.get("LOCALAPPDATA"):
        return Path(env["LOCALAPPDATA"]) / "secfeed" / "Cache"
    return Path.home() / ".cache" / "secfeed"


def load_bundled() -> Directory:
    data = msgspec.json.decode(BUNDLED.read_bytes(), type=Bundled)
    return Directory(
        data.source,
        data.date,
        name=dict(zip(data.cik, data.name, strict=True)),
        tickers=dict(zip(data.cik, data.tickers, strict=True)),
        _columns=data.rows,
    )


def read_meta(folder: Path) -> dict[str, str]:
    try:
        meta = msgspec.json.decode(read_limited(folder / META_NAME, 64 << 10))
    except (OSError, FileTooLarge, msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return {}
    return {k: v for k, v in meta.items() if isinstance(v, str)} if isinstance(meta, dict) else {}


def load_cached(folder: Path) -> Directory | None:
    """The map ``secfeed tickers update`` saved, or None when there is none.
    Raises MapError when it is there but not readable as one."""
    path = folder / CACHE_NAME
    try:
        data = read_limited(path, MAX_MAP)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise MapError(f"cannot read {path}: {exc.strerror}") from None
    except FileTooLarge as exc:
        raise MapError(str(exc)) from None
    try:
        rows = parse_sec_json(data)
    except MapError as exc:
        raise MapError(f"{path} is not SEC's company_tickers.json: {exc}") from None
    meta = read_meta(folder)
    # As of the last time SEC confirmed it (a 304 confirms without a new download).
    when = (
        meta.get("checked")
        or meta.get("fetched")
        or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(path.stat().st_mtime))
    )
    return Directory.from_rows(rows, meta.get("source", "?"), when, path)


_loaded: Directory | None = None


def directory(warn: Callable[[str], None] | None = None) -> Directory:
    """The map in use, loaded once: the cached copy if there is a good one, else the bundled.
    ``warn`` is told of a cached copy that could not be used, when this call loads the map.

    Loading makes thousands of containers that all live as long as the process (a list of
    tickers per CIK; from SEC's JSON, a tuple per row too): the garbage collector is off
    meanwhile, or it would walk them again and again as they pile up."""
    global _loaded
    if _loaded is None:
        collecting = gc.isenabled()
        gc.disable()
        try:
            try:
                _loaded = load_cached(cache_dir())
            except MapError as exc:
                if warn is not None:
                    warn(f"{exc}; using the map bundled with secfeed (run: secfeed tickers update)")
            if _loaded is None:
                _loaded = load_bundled()
        finally:
            if collecting:
                gc.enable()
    return _loaded


def forget() -> None:
    """Load again on next use (after an update, and in tests)."""
    global _loaded
    _loaded = None
