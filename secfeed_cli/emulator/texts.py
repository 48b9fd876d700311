"""The emulator's 8-Ks with their words (``secfeed demo --text``): real primary documents and
press releases, served at their EDGAR paths beside an index-headers page that lists them.

The documents (``edgar/text/``, listed in ``edgar/text/FILINGS.tsv`` and its README with where
each came from) are SEC's, byte for byte. The index pages are not: the emulator writes them,
in EDGAR's format, from what FILINGS.tsv says of each filing (and, for a full submission, from
its own SEC header and document list), and each says so in a comment. Where the accession
number of a document is unknown, the filing is served under a placeholder
``0000000000-YY-9NNNNN`` (never a real filing's), and its record says ``placeholder``.
"""

from __future__ import annotations

import html
import re
from importlib import resources
from typing import Any

from ..details.edgar import folder_path, index_headers_path, submission_path

Record = dict[str, Any]

_NOT_SEC = (
    "Written by secfeed's emulator, not by SEC: an index page in EDGAR's format listing the"
    " real documents the emulator serves for this filing"
)


def text_filings() -> tuple[list[Record], dict[str, bytes]]:
    """The 8-Ks with words (their feed records) and what is served for them, by EDGAR path."""
    folder = resources.files(__package__).joinpath("edgar").joinpath("text")
    records: list[Record] = []
    served: dict[str, bytes] = {}
    table = folder.joinpath("FILINGS.tsv").read_text("utf-8").splitlines()
    for line in table[1:]:
        if not line.strip() or line.startswith("#"):
            continue
        accession, placeholder, cik_text, company, form, filed, items, docs = line.split("\t")
        cik = int(cik_text)
        base = folder_path(cik, accession)
        listed: list[tuple[str, str, str]] = []  # (type, served name, description)
        for entry in docs.split(";"):
            kind, name, file = entry.split(":")
            served[f"{base}/{name}"] = folder.joinpath(file).read_bytes()
            listed.append((kind, name, kind))
        header = _tagged_header(accession, form, cik, company, filed, items.split(","))
        served[index_headers_path(cik, accession)] = _index_page(accession, header, listed)
        records.append(_record(accession, form, cik, company, filed, placeholder == "yes"))
    for full in sorted(folder.iterdir(), key=lambda e: e.name):
        if full.name.endswith("-full.txt"):
            record, pages = _full_submission(full.read_bytes())
            records.append(record)
            served.update(pages)
    ciks = {str(r["accession_no"]): int(r["cik"]) for r in records}
    for page in sorted(folder.iterdir(), key=lambda e: e.name):
        named = re.search(r"(\d{10}-\d{2}-\d{6})-index\.html\Z", page.name)
        if named is not None and named.group(1) in ciks:  # EDGAR's own index page, as saved
            accession = named.group(1)
            served[f"{folder_path(ciks[accession], accession)}/{accession}-index.html"] = (
                page.read_bytes()
            )
    return records, served


def _record(
    accession: str, form: str, cik: int, company: str, filed: str, placeholder: bool
) -> Record:
    record: Record = {
        "type": "fillings",
        "form": form,
        "description": f"{form} - {company} ({cik:010d}) (Filer)",
        "filling_date": f"{filed[:4]}-{filed[4:6]}-{filed[6:8]}",
        "accepted_time": f"{filed[:4]}-{filed[4:6]}-{filed[6:8]}",  # the time is not known
        "accession_no": accession,
        "cik": cik,
    }
    if placeholder:
        record["placeholder"] = True  # not the filing's own accession number (unknown)
    return record


def _tagged_header(
    accession: str, form: str, cik: int, company: str, filed: str, items: list[str]
) -> str:
    lines = [
        f"<SEC-HEADER>{accession}.hdr.sgml : {filed}",
        f"<ACCESSION-NUMBER>{accession}",
        f"<TYPE>{form}",
        *(f"<ITEMS>{code}" for code in items if code),
        f"<FILING-DATE>{filed}",
        "<FILER>",
        "<COMPANY-DATA>",
        f"<CONFORMED-NAME>{company}",
        f"<CIK>{cik:010d}",
        "</COMPANY-DATA>",
        "</FILER>",
        "</SEC-HEADER>",
    ]
    return "\n".join(lines)


def _index_page(accession: str, header: str, docs: list[tuple[str, str, str]]) -> bytes:
    """An index-headers page: the SEC header in a comment, then the document list as EDGAR
    writes it (escaped SGML in a ``<PRE>``)."""
    out = [
        f"<HTML><HEAD><TITLE>SEC EDGAR Submission {accession}</TITLE>",
        f"<!-- {_NOT_SEC} -->",
        "<!--",
        header.replace("--", "- -"),
        "-->",
        "</HEAD><BODY>",
        "<PRE>",
    ]
    for sequence, (kind, name, description) in enumerate(docs, 1):
        out += [
            "&lt;DOCUMENT&gt;",
            f"&lt;TYPE&gt;{html.escape(kind)}",
            f"&lt;SEQUENCE&gt;{sequence}",
            f"&lt;FILENAME&gt;{html.escape(name)}",
            f"&lt;DESCRIPTION&gt;{html.escape(description)}",
            "&lt;TEXT&gt;",
            f'<a href="{html.escape(name)}">Document {sequence} - file:'
            f" {html.escape(name)}</a><br>",
            "&lt;/DOCUMENT&gt;",
        ]
    out += ["</PRE>", "</BODY></HTML>", ""]
    return "\n".join(out).encode()


_DOCUMENT = re.compile(
    rb"<DOCUMENT>\s*<TYPE>([^\r\n]+)\s*<SEQUENCE>(\d+)\s*<FILENAME>([^\r\n]+)\s*"
    rb"(?:<DESCRIPTION>([^\r\n]*)\s*)?<TEXT>\r?\n?(.*?)</TEXT>",
    re.S,
)


def _full_submission(data: bytes) -> tuple[Record, dict[str, bytes]]:
    """A real full submission: served whole, each of its documents at its own name (the
    bytes between its ``<TEXT>`` tags, as EDGAR serves them), and an index page."""
    text = data.decode("latin-1")
    head = text[: text.index("</SEC-HEADER>") + len("</SEC-HEADER>")]

    def field(name: str) -> str:
        found = re.search(rf"^\s*{name}:\s*(\S[^\r\n]*?)\s*$", head, re.M)
        assert found is not None, name
        return found.group(1)

    accession = field("ACCESSION NUMBER")
    form = field("CONFORMED SUBMISSION TYPE")
    cik = int(field("CENTRAL INDEX KEY"))
    company = field("COMPANY CONFORMED NAME")
    filed = field("FILED AS OF DATE")
    base = folder_path(cik, accession)
    served = {submission_path(cik, accession): data}
    listed: list[tuple[str, str, str]] = []
    for m in _DOCUMENT.finditer(data):
        kind, _, name, description, body = m.groups()
        name_text = name.decode("latin-1").strip()
        if body.lstrip().startswith(b"begin "):
            continue  # a graphic or a zip, uuencoded in the submission: EDGAR serves binary
        served[f"{base}/{name_text}"] = body
        listed.append(
            (
                kind.decode("latin-1").strip(),
                name_text,
                (description or kind).decode("latin-1").strip(),
            )
        )
    header = head[head.index("<SEC-HEADER>") :]
    served[index_headers_path(cik, accession)] = _index_page(accession, header, listed)
    record = _record(accession, form, cik, company, filed, placeholder=False)
    found = re.search(r"<ACCEPTANCE-DATETIME>(\d{14})", head)
    if found is not None:
        from .edgar import _eastern_to_utc

        record["accepted_time"] = _eastern_to_utc(found.group(1))
    return record, served
