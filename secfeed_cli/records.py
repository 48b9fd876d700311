"""The output schema shared by NDJSON, CSV and JSON: ours, stable, documented. Pure.

Keys, in this order: ``accession_no``, ``form``, ``cik``, ``description``, ``filing_date`` (the
wire's ``filling_date``, spelled correctly), ``accepted_time``, ``discovered_time`` (time strings
exactly as received), ``is_historical``, ``url`` (the EDGAR filing index page), then with
``--latency`` ``received_time`` and ``latency_ms``, then any extra fields the server sent.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .filing import Filing, edgar_url, format_time

COLUMNS = (
    "accession_no",
    "form",
    "cik",
    "description",
    "filing_date",
    "accepted_time",
    "discovered_time",
    "is_historical",
    "url",
)
LATENCY_COLUMNS = ("received_time", "latency_ms")


def latency_ms(filing: Filing, received: float) -> float:
    """Local receive time (``time.time()``) minus ``discovered_time``, in milliseconds."""
    return (received - filing.discovered().timestamp()) * 1000.0


def to_record(filing: Filing, received: float | None = None) -> dict[str, Any]:
    """The output object of one filing; with ``received`` it gains the latency fields."""
    record: dict[str, Any] = {
        "accession_no": filing.accession_no,
        "form": filing.form,
        "cik": filing.cik,
        "description": filing.description,
        "filing_date": filing.filing_date,
        "accepted_time": filing.accepted_time,
        "discovered_time": filing.discovered_time,
        "is_historical": filing.is_historical,
        "url": edgar_url(filing.cik, filing.accession_no),
    }
    if received is not None:
        record["received_time"] = format_time(datetime.fromtimestamp(received, timezone.utc))
        record["latency_ms"] = round(latency_ms(filing, received), 3)
    for key, value in filing.extra.items():
        record.setdefault(key, value)
    return record
