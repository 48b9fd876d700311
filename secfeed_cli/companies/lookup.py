"""A filing's ``company`` and ``ticker``: from SEC's CIK map, else from the SEC description.

Called once per filing by every output, so the answers are cached: by CIK for the CIKs SEC maps
(the map is loaded on the first call, not at start-up), by description for the others.
"""

from __future__ import annotations

from json.encoder import encode_basestring as _js

from ..wire.filing import Filing, split_description
from .tickers import Directory, directory

Who = tuple[str | None, str | None]  # company, ticker

_map: Directory | None = None
_by_cik: dict[int, Who] = {}
_by_description: dict[tuple[str, str], Who] = {}
_json: dict[Who, str] = {}
_BOUND = 50_000  # caches are cleared when they grow past this


def who(filing: Filing) -> Who:
    """The filer's name (SEC's, else the description's, else None) and primary ticker."""
    global _map
    found = _by_cik.get(filing.cik)
    if found is not None:
        return found
    if _map is None:
        _map = directory()
    name = _map.name.get(filing.cik)
    if name is not None:
        found = (name, _map.primary(filing.cik))
        _by_cik[filing.cik] = found
        return found
    key = (filing.description, filing.form)
    found = _by_description.get(key)
    if found is None:
        if len(_by_description) > _BOUND:
            _by_description.clear()
        found = (split_description(filing.description, filing.form)[0], None)
        _by_description[key] = found
    return found


#: ``"company":...,"ticker":...`` of each CIK in SEC's map, and of each (description, form)
#: of the CIKs not in it, filled as they come: the NDJSON lines look here first.
json_by_cik: dict[int, str] = {}
json_by_text: dict[tuple[str, str], str] = {}
#: The company and ticker cells of a CSV row, the same way (``output/lines.py``).
csv_by_cik: dict[int, str] = {}
csv_by_text: dict[tuple[str, str], str] = {}


def mapped(cik: int) -> bool:
    """Whether SEC's map names this CIK (known once :func:`who` has answered for it)."""
    return cik in _by_cik


def who_json(filing: Filing) -> str:
    """``"company":...,"ticker":...`` for a filing, as a piece of its JSON object."""
    pair = who(filing)
    found = _json.get(pair)
    if found is None:
        if len(_json) > _BOUND:
            _json.clear()
        company, ticker = pair
        found = (
            '"company":'
            + ("null" if company is None else _js(company))
            + ',"ticker":'
            + ("null" if ticker is None else _js(ticker))
        )
        _json[pair] = found
    remember(filing, found, json_by_cik, json_by_text)
    return found


def remember(
    filing: Filing, piece: str, by_cik: dict[int, str], by_text: dict[tuple[str, str], str]
) -> None:
    """Keep an output's company piece for this filing where its lines look first: by CIK for a
    CIK in SEC's map, else by (description, form), the way :func:`who` found it."""
    if mapped(filing.cik):
        by_cik[filing.cik] = piece
    else:
        if len(by_text) > _BOUND:
            by_text.clear()
        by_text[(filing.description, filing.form)] = piece


def label(filing: Filing) -> str:
    """``COMPANY (TICKER)``, as the table shows it."""
    company, ticker = who(filing)
    text = company or filing.description
    return f"{text} ({ticker})" if ticker else text


def reset() -> None:
    """Forget the map and every cached answer (after ``tickers update``; in tests)."""
    global _map
    _map = None
    _by_cik.clear()
    _by_description.clear()
    _json.clear()
    json_by_cik.clear()
    json_by_text.clear()
    csv_by_cik.clear()
    csv_by_text.clear()
