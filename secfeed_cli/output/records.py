"""The output schema shared by NDJSON, CSV, JSON, the hooks' variables and the archive: ours,
stable, documented. Pure: it reads finished filings (their company and ticker were set by the
run's company stage, ``companies/lookup.py``).

Keys, in this order: ``accession_no``, ``form``, ``cik``, ``company`` and ``ticker`` (who filed
it), ``description``, ``filing_date`` (the wire's ``filling_date``, spelled correctly),
``accepted_time``, ``discovered_time`` (time strings exactly as received), ``is_historical``,
``url`` (the EDGAR filing index page), then with ``--latency`` ``received_time`` and
``latency_ms``, then any extra fields the server sent (``details`` with ``--details``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..wire.filing import Filing, format_time, utc_seconds

#: The output fields, in order, each with how it is encoded: the one definition of the schema.
#: ``checked``: a string validated when the frame was parsed (digits, dates, times), which
#: never needs escaping; ``text``: free text; ``int``; ``bool``; ``url``: the EDGAR filing
#: index page, made from ``cik`` and ``accession_no``; ``company`` and ``ticker``: from SEC's
#: CIK map or the description (the company stage), text or null. The record
#: (:func:`to_record`), the fast NDJSON and CSV lines (:func:`line_source`) and the hooks'
#: variables (:func:`text_fields`) derive from it.
FIELDS: tuple[tuple[str, str], ...] = (
    ("accession_no", "checked"),
    ("form", "text"),
    ("cik", "int"),
    ("company", "company"),
    ("ticker", "ticker"),
    ("description", "text"),
    ("filing_date", "checked"),
    ("accepted_time", "checked"),
    ("discovered_time", "checked"),
    ("is_historical", "bool"),
    ("url", "url"),
)
COLUMNS = tuple(name for name, _ in FIELDS)
LATENCY_COLUMNS = ("received_time", "latency_ms")
#: CSV with --details (NDJSON and JSON carry the whole ``details`` object instead).
DETAILS_COLUMNS = ("details_status", "details_summary")


def latency_ms(filing: Filing, received: float) -> float:
    """Local receive time (``time.time()``) minus ``discovered_time``, in milliseconds."""
    return (received - utc_seconds(filing.discovered_time)) * 1000.0


def to_record(filing: Filing, received: float | None = None) -> dict[str, Any]:
    """The output object of one filing; with ``received`` it gains the latency fields."""
    record: dict[str, Any] = {name: getattr(filing, name) for name in COLUMNS}
    if received is not None:
        record["received_time"] = format_time(datetime.fromtimestamp(received, timezone.utc))
        record["latency_ms"] = round(latency_ms(filing, received), 3)
    for key, value in filing.extra.items():
        record.setdefault(key, value)
    return record


def text_fields(filing: Filing) -> dict[str, str]:
    """Every field of :data:`FIELDS` as text, by name: null is empty, booleans are ``true`` or
    ``false`` (the hooks' ``SECFEED_*`` variables)."""
    out: dict[str, str] = {}
    for name, kind in FIELDS:
        value = getattr(filing, name)
        if kind == "bool":
            out[name] = "true" if value else "false"
        else:
            out[name] = "" if value is None else str(value)
    return out


def label(filing: Filing) -> str:
    """``COMPANY (TICKER)``, as the table and the notifications name the filer."""
    text = filing.company or filing.description
    return f"{text} ({filing.ticker})" if filing.ticker else text


def line_source(style: str) -> str:
    """The body of an f-string that writes a filing ``f`` as one NDJSON object (``json``) or
    one CSV row (``csv``), in :data:`FIELDS` order.

    The sinks compile it once into their batch loops (``output/lines.py``); the names it uses
    are ``f``, ``_js`` (JSON string escaping), ``_quote`` (a CSV text cell), ``edgar_url``,
    for the company and ticker columns ``_who_pieces``/``_who_piece`` (their encoded text by
    ``f.who``, cached, and the function that fills the cache), and ``_forms``/``_quote_form``
    (the form cell, cached).
    """
    # edgar_url() written out: a Python call per filing less (a test holds them equal).
    url = (
        "https://www.sec.gov/Archives/edgar/data/{f.cik}/"
        '{f.accession_no.replace("-", "")}/{f.accession_no}-index.htm'
    )
    parts = []
    for name, kind in FIELDS:
        value = {
            "checked": f"{{f.{name}}}",
            "text": f"{{_js(f.{name})}}"
            if style == "json"
            # Forms are few: their cells come from a cache, filled as they come.
            else (
                "{_forms.get(f.form) or _quote_form(f.form)}"
                if name == "form"
                else f"{{_quote(f.{name})}}"
            ),
            "int": f"{{f.{name}}}",
            "bool": f'{{"true" if f.{name} else "false"}}',
            "url": url,
            # Both columns at once, encoded once per filer (a dict's get, no Python call).
            "company": "{_who_pieces.get(f.who) or _who_piece(f.who)}",
            "ticker": "",
        }[kind]
        if kind == "ticker":
            continue
        if kind == "company":
            parts.append(value)
        elif style == "json":
            quoted = kind in ("checked", "url")
            parts.append(f'"{name}":' + (f'"{value}"' if quoted else value))
        else:
            parts.append(value)
    if style == "json":
        return "{{" + ",".join(parts) + "}}"
    return ",".join(parts)
