"""The emulator plays EDGAR too: real documents of real filings, served on the feed's own port
at their EDGAR paths (``/Archives/edgar/data/{cik}/{folder}/...``), and those filings in its
feed, so ``secfeed demo --details`` shows what they say, offline.

The documents (``edgar/``, listed in its README with where each came from) are SEC's, byte for
byte; the feed records for them are read from their own SEC headers (accession, form, filer,
names, the acceptance time in Eastern time, made UTC).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from ..details.edgar import index_headers_path, submission_path

Record = dict[str, Any]


def _eastern_to_utc(stamp: str) -> str:
    """``YYYYMMDDHHMMSS`` in US Eastern time (EDGAR's) as RFC 3339 UTC."""
    local = datetime.strptime(stamp, "%Y%m%d%H%M%S")
    year = local.year
    march = datetime(year, 3, 8) + timedelta(days=(6 - datetime(year, 3, 8).weekday()) % 7)
    november = datetime(year, 11, 1) + timedelta(days=(6 - datetime(year, 11, 1).weekday()) % 7)
    summer = march.replace(hour=2) <= local < november.replace(hour=2)  # second Sun of March..
    offset = timedelta(hours=4 if summer else 5)  # ..first Sun of November: EDT, else EST
    return (local + offset).replace(tzinfo=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _field(text: str, name: str, after: str = "") -> str | None:
    """A text header's ``NAME:  value`` (lines may be indented), after the line ``after:``."""
    start = 0
    if after:
        section = re.search(rf"^[ \t]*{after}:", text, re.M)
        if section is None:
            return None
        start = section.start()
    found = re.search(rf"^[ \t]*{re.escape(name)}:[ \t]*(\S[^\r\n]*?)[ \t]*$", text[start:], re.M)
    return found.group(1) if found else None


def _record(name: str, text: str) -> tuple[Record, str]:
    """The feed record of one document, and the EDGAR path it is served at."""
    tagged = "<ACCESSION-NUMBER>" in text
    if tagged:  # an index-headers page: the tagged header

        def tag(key: str) -> str:
            found = re.search(rf"^<{key}>(.*)$", text, re.M)
            assert found is not None, (name, key)
            return found.group(1).strip()

        accession, form = tag("ACCESSION-NUMBER"), tag("TYPE")
        cik, company, role = int(tag("CIK")), tag("CONFORMED-NAME"), "Filer"
        filed, accepted = tag("FILING-DATE"), tag("ACCEPTANCE-DATETIME")
        path = index_headers_path(cik, accession)
    else:  # a full submission's text header: the issuer is the filer shown
        accession = _field(text, "ACCESSION NUMBER") or ""
        form = _field(text, "CONFORMED SUBMISSION TYPE") or ""
        cik = int(_field(text, "CENTRAL INDEX KEY", after="ISSUER") or 0)
        company = _field(text, "COMPANY CONFORMED NAME", after="ISSUER") or ""
        role = "Issuer"
        filed = _field(text, "FILED AS OF DATE") or ""
        found = re.search(r"<ACCEPTANCE-DATETIME>(\d{14})", text)
        accepted = found.group(1) if found else filed + "000000"
        path = submission_path(cik, accession)
    record = {
        "type": "fillings",
        "form": form,
        "description": f"{form} - {company} ({cik:010d}) ({role})",
        "filling_date": f"{filed[:4]}-{filed[4:6]}-{filed[6:8]}",
        "accepted_time": _eastern_to_utc(accepted),
        "accession_no": accession,
        "cik": cik,
    }
    return record, path


def documents() -> tuple[list[Record], dict[str, bytes]]:
    """The bundled filings (oldest first) and their documents by EDGAR path."""
    folder = resources.files(__package__).joinpath("edgar")
    records: list[Record] = []
    served: dict[str, bytes] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith((".txt", ".html")) or entry.name.startswith("sec-"):
            continue
        data = entry.read_bytes()
        record, path = _record(entry.name, data.decode("utf-8", "replace"))
        records.append(record)
        served[path] = data
    from .texts import text_filings

    more, pages = text_filings()
    records += more
    served.update(pages)
    records.sort(key=lambda r: str(r["accepted_time"]))
    return records, served


#: An index file larger than this is not served (a full day's form index is about 3 MB).
MAX_INDEX_BYTES = 64 << 20
_INDEX_FILES = re.compile(r"(?:getcurrent-start(\d{4})\.xml|form\.(\d{4})(\d{2})(\d{2})\.idx)\Z")


def index_documents(folder: Path) -> dict[str, bytes]:
    """EDGAR's index files kept in ``folder`` (``secfeed serve --edgar-indexes``), by the key
    :func:`index_key` gives their requests: pages of the latest-filings Atom feed saved as
    ``getcurrent-startNNNN.xml`` (``start=NNNN``), daily form indexes as ``form.YYYYMMDD.idx``
    (their names on EDGAR). Other files are left alone; so is a file over
    :data:`MAX_INDEX_BYTES`."""
    served: dict[str, bytes] = {}
    for entry in sorted(folder.iterdir()):
        name = _INDEX_FILES.match(entry.name)
        if name is None or not entry.is_file() or entry.stat().st_size > MAX_INDEX_BYTES:
            continue
        if name.group(1) is not None:
            key = f"getcurrent:{int(name.group(1))}"
        else:
            y, m, d = name.group(2, 3, 4)
            key = f"/Archives/edgar/daily-index/{y}/QTR{(int(m) - 1) // 3 + 1}/form.{y}{m}{d}.idx"
        served[key] = entry.read_bytes()
    return served


def index_key(path: str) -> str | None:
    """What an EDGAR index request asks for (a key of :func:`index_documents`), or None."""
    address, _, query = path.partition("?")
    if address.startswith("/Archives/edgar/daily-index/"):
        return address
    if address != "/cgi-bin/browse-edgar":
        return None
    asked = parse_qs(query)
    if asked.get("action") != ["getcurrent"] or asked.get("output") != ["atom"]:
        return None
    start = asked.get("start", ["0"])[0]
    if not (start.isascii() and start.isdigit() and len(start) <= 9):
        return None
    return f"getcurrent:{int(start)}"


def latest_filings_page(announced: list[tuple[Record, str]], start: int) -> bytes:
    """A page of EDGAR's latest-filings Atom feed (``getcurrent``: 100 entries from
    ``start``, newest first), written by the emulator about the filings its own feed has
    announced, each ``(record, when it was announced)``: so ``--backfill`` can be seen at work
    offline against filings the emulator stamped now (its captured pages are of January
    2026). Not a document of SEC's: the format is theirs, every value the feed's."""
    from xml.sax.saxutils import escape, quoteattr

    newest_first = announced[::-1][start : start + 100]
    now = announced[-1][1] if announced else "1970-01-01T00:00:00Z"
    out = [
        '<?xml version="1.0" encoding="UTF-8" ?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        "<title>Latest Filings (secfeed's emulator: the filings its feed announced)</title>",
        f"<updated>{escape(now)}</updated>",
    ]
    for record, when in newest_first:
        accession, form = str(record["accession_no"]), str(record["form"])
        cik = int(record["cik"])
        folder = accession.replace("-", "")
        summary = f"<b>Filed:</b> {record.get('filling_date', '')} <b>AccNo:</b> {accession}"
        out += [
            "<entry>",
            f"<title>{escape(str(record['description']))}</title>",
            '<link rel="alternate" type="text/html" href='
            + quoteattr(
                f"https://www.sec.gov/Archives/edgar/data/{cik}/{folder}/{accession}-index.htm"
            )
            + "/>",
            f'<summary type="html">{escape(summary)}</summary>',
            f"<updated>{escape(when)}</updated>",
            f'<category scheme="https://www.sec.gov/" label="form type" term={quoteattr(form)}/>',
            f"<id>urn:tag:sec.gov,2008:accession-number={escape(accession)}</id>",
            "</entry>",
        ]
    out.append("</feed>")
    return ("\n".join(out) + "\n").encode()


#: How the emulator's EDGAR can misbehave (``secfeed serve --edgar-fault``).
FAULTS = ("403", "429", "404-first", "slow", "truncated", "malformed")


def rate_page() -> bytes:
    """SEC's own "Request Rate Threshold Exceeded" page, served with a 403."""
    folder = resources.files(__package__).joinpath("edgar")
    return folder.joinpath("sec-rate-threshold-exceeded.html").read_bytes()


def malformed(body: bytes) -> bytes:
    """A document whose XML breaks (its end tags cut off), for ``--edgar-fault malformed``."""
    return body.replace(b"</ownershipDocument>", b"").replace(b"</XML>", b"<broken</XML>")
