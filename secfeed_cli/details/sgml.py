"""EDGAR's SEC header: the lines before a submission's documents. Pure.

Two spellings, both read here: the tagged SGML (``<ITEMS>5.07``, ``<ASSIGNED-SIC>6022``) that
``{accession}-index-headers.html`` carries in a comment, and the text form that starts a full
submission ``{accession}.txt`` (``ITEM INFORMATION:``, ``STANDARD INDUSTRIAL CLASSIFICATION:
STATE COMMERCIAL BANKS [6022]``).
"""

from __future__ import annotations

import re

import msgspec


class DetailsError(ValueError):
    """A document that cannot be read for details: the reason, in a few words."""


class NoDocument(DetailsError):
    """The submission holds no document to read details from (a text filing from before XML
    forms): none to be had, which is no error of the document's."""


class Header(msgspec.Struct, frozen=True):
    form: str | None = None
    items: tuple[str, ...] = ()  # 8-K item codes, "5.02"
    item_texts: tuple[str, ...] = ()  # the text header's "ITEM INFORMATION" lines
    sic: str | None = None  # the filer's (an 8-K) or the issuer's (a Form 4) SIC code
    period: str | None = None  # YYYY-MM-DD


_TAG = re.compile(r"^<([A-Z0-9-]+)>([^<\r\n]*)$", re.M)
_ITEM_INFORMATION = re.compile(r"^ITEM INFORMATION:[ \t]*([^\r\n]*?)[ \t]*$", re.M)
_SIC_TEXT = re.compile(r"STANDARD INDUSTRIAL CLASSIFICATION:[^\[\n]*\[(\d{3,4})\]")
_TYPE_TEXT = re.compile(r"^CONFORMED SUBMISSION TYPE:\s*(\S.*?)\s*$", re.M)
_PERIOD_TEXT = re.compile(r"^CONFORMED PERIOD OF REPORT:\s*(\d{8})\s*$", re.M)
#: The head of a document read for its header (a header is a few KB; the cap bounds a search).
MAX_HEADER = 256 << 10


def _date(text: str | None) -> str | None:
    if text is None or len(text) != 8 or not text.isdigit():
        return None
    return f"{text[:4]}-{text[4:6]}-{text[6:]}"


def _first(tags: dict[str, list[str]], name: str) -> str | None:
    values = tags.get(name)
    return values[0] if values else None


def _section(head: str, party: str | None) -> str:
    """The part of the header about ``party`` (``ISSUER``, ``FILER``): its SIC is the one
    wanted (a reporting owner that is a company has an SIC of its own)."""
    if party is None:
        return head
    found = re.search(rf"^[ \t]*(?:<{party}>|{party}:)", head, re.M)
    return head[found.start() :] if found else head


def parse_header(text: str, party: str | None = None) -> Header:
    """The header of an index-headers page or of a full submission, whichever ``text`` is;
    ``party``: whose SIC (``ISSUER`` for Forms 3/4/5, ``FILER`` for an 8-K)."""
    head = text[:MAX_HEADER]
    end = head.find("</SEC-HEADER>")
    if end >= 0:
        head = head[:end]
    about = _section(head, party)
    tags: dict[str, list[str]] = {}
    for name, value in _TAG.findall(head):
        tags.setdefault(name, []).append(value.strip())
    items = tuple(v for v in tags.get("ITEMS", []) if re.fullmatch(r"\d{1,2}\.\d{2}", v))
    form = _first(tags, "TYPE")
    if form is None:
        found = _TYPE_TEXT.search(head)
        form = found.group(1) if found else None
    sic = None
    for name, value in _TAG.findall(about):
        if name == "ASSIGNED-SIC" and value.strip().isdigit():
            sic = value.strip()
            break
    if sic is None:
        found_sic = _SIC_TEXT.search(about)
        sic = found_sic.group(1) if found_sic else None
    period = _date(_first(tags, "PERIOD"))
    if period is None:
        found_period = _PERIOD_TEXT.search(head)
        period = _date(found_period.group(1)) if found_period else None
    texts = tuple(m.strip() for m in _ITEM_INFORMATION.findall(head) if m.strip())
    return Header(form=form, items=items, item_texts=texts, sic=sic, period=period)
