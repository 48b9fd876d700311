"""``--text``: the words of a filing. Pure (the fetching is stage.py's).

- :func:`documents`: what a filing's index-headers page lists (type, file name, description):
  the page secfeed already reads for an 8-K's items names its primary document and its EX-99
  exhibits, so the words cost one request a document and nothing more.
- :func:`plain_text`: a document as text. HTML goes through inscriptis (a layout-aware
  converter: paragraphs stay paragraphs, a table's cells stay on their row) over lxml's HTML
  parser; a document in plain text (EDGAR before HTML, a .txt exhibit) stays as it is. At most
  :data:`MAX_HTML` characters are read; markup nested deeper than lxml follows (255 levels) is
  refused rather than silently dropped; control characters and bidirectional overrides are
  taken out, so nothing of a document can drive a terminal.
- :func:`sections`: an 8-K's body split at its item headings (``Item 5.02 ...``,
  ``ITEM 9.01(d). Exhibits``, the pre-2004 ``Item 9.``), each item up to the next one; the
  cover page before the first item, the signatures and an exhibit index are no item's text.

See ``bench/TEXT.md`` for why inscriptis: the measured fidelity and speed of the candidates.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, NamedTuple

from ..extras import install_hint
from .eightk import ITEMS

if TYPE_CHECKING:
    from ..wire.details import Section

#: Characters of a document read as HTML or text, at most: an 8-K or a press release is 10 KB
#: to 2 MB; beyond, the rest is left (``cut``) and what was read is used.
MAX_HTML = 4_000_000
#: The first characters of each item and exhibit, in the NDJSON line by default.
EXCERPT = 280
#: Items and exhibits kept, at most (an 8-K has 1 to 6 items; SEC lists 33).
MAX_SECTIONS = 40
#: The deepest nesting lxml's HTML parser follows (libxml2's limit without XML_PARSE_HUGE).
MAX_DEPTH = 255


#: An exhibit's ``problem`` when it was longer than secfeed reads.
CUT = f"longer than {MAX_HTML:,} characters: the rest is not read"


class TextError(ValueError):
    """A document whose words cannot be had; ``str()`` is one line."""


class Document(NamedTuple):
    sequence: int
    type: str  # "8-K", "EX-99.1"
    filename: str
    description: str | None


_DOC = re.compile(
    r"&lt;TYPE&gt;([^\r\n<&]{1,40})\s+&lt;SEQUENCE&gt;(\d{1,4})\s+"
    r"&lt;FILENAME&gt;([^\r\n<&]{1,120})\s+(?:&lt;DESCRIPTION&gt;([^\r\n<]{0,300})\s+)?"
)
_FILENAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,119}\Z")


def documents(page: str) -> list[Document]:
    """The documents an index-headers page lists, in sequence, those with a file name that
    is a plain name (nothing that would leave the filing's folder)."""
    found: list[Document] = []
    for m in _DOC.finditer(page[:2_000_000]):
        kind, sequence, filename, description = m.groups()
        filename = filename.strip()
        if not _FILENAME.match(filename):
            continue
        text = html.unescape(description).strip() if description else None
        found.append(Document(int(sequence), kind.strip().upper(), filename, text or None))
    return sorted(found, key=lambda d: d.sequence)


def primary(docs: list[Document], form: str) -> Document | None:
    """The filing's main document: the one of the filing's own form, else the first."""
    base = form.strip().upper()
    for doc in docs:
        if doc.type == base:
            return doc
    return docs[0] if docs and not docs[0].type.startswith("EX-") else None


def exhibits(docs: list[Document], most: int) -> list[Document]:
    """The EX-99 documents (press releases, shareholder letters, presentations), in order."""
    return [d for d in docs if re.match(r"EX-99(?:\.\d+)*\Z", d.type)][:most]


# -- HTML to text ---------------------------------------------------------------------------

_LOOKS_HTML = re.compile(rb"<(?:html|body|div|p|table|font|br|span|center|b|td)\b", re.I)
# C0 controls but tab and LF, DEL, C1 controls, and the marks and overrides that reorder what
# a terminal shows: none of them is a word of a filing.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SGML_LINE = re.compile(
    r"^\s*</?(?:PAGE|TABLE|CAPTION|S|C|FN|F\d+|TEXT|DOCUMENT)>\s*$", re.M | re.I
)


def plain_text(data: bytes, limit: int = MAX_HTML) -> tuple[str, bool]:
    """The words of a document, and whether it was cut at ``limit`` characters."""
    text = _decode(data)
    wrapper = _WRAPPER.match(text)
    if wrapper is not None:  # a document as a full submission holds it: its text alone
        text = text[wrapper.end() :]
    cut = len(text) > limit
    if cut:
        text = text[:limit]
    if _LOOKS_HTML.search(data[:65536]):
        text = _html_to_text(text)
    else:
        text = _SGML_LINE.sub("", text)
    return tidy(text), cut


def _decode(data: bytes) -> str:
    """UTF-8 when the bytes are, else Windows-1252 (EDGAR's older documents), so that no
    byte is an error; a byte order mark is dropped."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


_WRAPPER = re.compile(
    r"\A\s*<DOCUMENT>\s*(?:<(?:TYPE|SEQUENCE|FILENAME|DESCRIPTION)>[^\n]*\n\s*){0,6}<TEXT>"
)
_DECLARATION = re.compile(r"\A\s*<\?xml[^>]{0,200}\?>", re.I)


def _html_to_text(markup: str) -> str:
    try:
        import lxml.html  # type: ignore[import-untyped]
        from inscriptis import Inscriptis  # type: ignore[import-untyped]
        from inscriptis.model.config import ParserConfig  # type: ignore[import-untyped]
    except ImportError:
        raise TextError(f"--text needs the text extra: {install_hint('text')}") from None
    markup = _DECLARATION.sub("", markup)  # lxml takes no declaration with a str
    markup = _UNSAFE.sub("", markup)  # nor control characters (entities are undone later)
    if not markup.strip():
        return ""
    parser = lxml.html.HTMLParser(
        recover=True, no_network=True, remove_comments=True, remove_pis=True, huge_tree=False
    )
    try:
        root = lxml.html.document_fromstring(markup, parser=parser)
    except Exception as exc:  # lxml.etree.ParserError: nothing it could call a document
        raise TextError(f"not a document lxml can read ({type(exc).__name__})") from None
    for entry in parser.error_log:
        if entry.type_name == "ERR_RESOURCE_LIMIT":
            raise TextError(f"its markup is nested deeper than {MAX_DEPTH} levels: not read")
    for node in root.xpath("//script|//style|//head|//title|//noscript|//template"):
        node.drop_tree()
    try:
        return str(Inscriptis(root, ParserConfig()).get_text())
    except RecursionError:
        raise TextError(f"its markup is nested deeper than {MAX_DEPTH} levels") from None


_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000]+")
_BLANKS = re.compile(r"\n{3,}")


def tidy(text: str) -> str:
    """Unsafe characters out, no-break and other spaces made spaces, lines right-trimmed,
    three or more blank lines made two; white space at either end gone."""
    text = _UNSAFE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "\n".join(_SPACES.sub(" ", line).rstrip() for line in text.split("\n"))
    return _BLANKS.sub("\n\n", text).strip()


def words(text: str) -> int:
    return len(text.split())


def excerpt(text: str, size: int = EXCERPT) -> str:
    """The first ``size`` characters of ``text`` on one line, cut at a word, with an ellipsis
    when there is more."""
    flat = " ".join(text.split())
    if len(flat) <= size:
        return flat
    cut = flat[: size - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > size // 2 else cut) + "…"


# -- an 8-K's items ---------------------------------------------------------------------

_HEADING = re.compile(
    r"(?:ITEM|Item)S?\s*(\d{1,2})(?:\.(\d{1,2}))?(?:\s*\([a-z]\))?\s*[.:\-–—]?\s*(.*)\Z", re.S
)
_SIGNATURES = re.compile(
    r"(?:SIGNATURES?|Signatures?)\.?\Z"
    r"|Pursuant to the requirements of the Securities Exchange Act of 1934, the registrant"
    r" has duly caused",
)
_EXHIBIT_INDEX = re.compile(r"(?:EXHIBIT INDEX|INDEX TO EXHIBITS|Exhibit Index)\.?\Z")
_PAGE_NUMBER = re.compile(r"\s*(?:-\s*)?\d{1,3}(?:\s*-)?\s*\Z")


class _Open(NamedTuple):
    code: str
    name: str | None
    lines: list[str]


def sections(text: str) -> list[Section]:
    """The items of an 8-K's text, in the order the document gives them, each with its whole
    text (the run lets out the excerpts unless ``--text-full``)."""
    from ..wire.details import Section

    found: list[_Open] = []
    current: _Open | None = None
    for raw in text.split("\n"):
        line = raw.strip()
        heading = _heading(line)
        if heading is not None:
            code, name = heading
            done = [s for s in found if s.code == code]
            if done and words("\n".join(done[0].lines)):
                current = done[0]  # the item again (a running head): its text goes on
                continue
            if done:
                found.remove(done[0])  # a contents line before the item itself
            current = _Open(code, name, [])
            found.append(current)
            continue
        if current is None:
            continue  # the cover page
        if _SIGNATURES.match(line) or _EXHIBIT_INDEX.match(line):
            current = None
            continue
        if _PAGE_NUMBER.match(line) or line.lower() == "table of contents":
            continue
        current.lines.append(raw)
    out = []
    for item in found[:MAX_SECTIONS]:
        body = _BLANKS.sub("\n\n", "\n".join(item.lines)).strip("\n")
        out.append(
            Section(
                code=item.code,
                name=item.name,
                words=words(body),
                excerpt=excerpt(body),
                text=body,
            )
        )
    return out


def _heading(line: str) -> tuple[str, str | None] | None:
    """``(code, name)`` when ``line`` heads an item: ``Item`` and a number at its start, then
    a name (capitalised) or nothing; a sentence that begins with an item number is not one."""
    if len(line) > 400 or not line[:4].lower() == "item":
        return None
    m = _HEADING.match(line)
    if m is None:
        return None
    major, minor, rest = m.groups()
    code = f"{int(major)}.{int(minor):02d}" if minor is not None else str(int(major))
    rest = " ".join(rest.split()).rstrip(".").strip()
    if rest and not (rest[0].isupper() or rest[0] in "(“\"'"):
        return None
    if rest.lower().startswith(("of ", "and ", "to ", "in ")):
        return None
    if not rest and minor is None:
        return None  # "Item 9" alone: a reference, not a heading
    known = ITEMS.get(code)
    return code, (rest or (known[0] if known else None))
