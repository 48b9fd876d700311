"""``--grep PATTERN``: filings whose words (``--text``) or description match. Pure.

Patterns are Python regular expressions, as ``grep -E`` users write them; several ``--grep``
are alternatives (``grep -e A -e B``). grep's habits for case and words: ``-i``
(``--ignore-case``) matches either case, ``-w`` (``--word-regexp``) only whole words. A filing
passes when a pattern matches its description or the text of one of its items or exhibits;
it then carries ``matches``: for each place and pattern, the first match, with where it is
(``description``, ``item 5.02``, ``EX-99.1``), a snippet around it and the match's span in
the snippet (what the table and the ui highlight).
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from msgspec import UNSET
from msgspec.structs import replace

from ..wire.details import EightK, Report, Text
from ..wire.filing import Filing

#: Characters of context on each side of a match in its snippet.
CONTEXT = 60
#: Matches a filing carries, at most.
MAX_MATCHES = 12


class Grep:
    def __init__(self, patterns: list[str], ignore_case: bool = False, word: bool = False):
        flags = re.IGNORECASE if ignore_case else 0
        self.patterns = list(patterns)
        self.compiled: list[re.Pattern[str]] = []
        for pattern in self.patterns:
            body = rf"(?<!\w)(?:{pattern})(?!\w)" if word else pattern
            try:
                self.compiled.append(re.compile(body, flags))
            except re.error as exc:
                raise ValueError(f"--grep {pattern!r} is not a regular expression: {exc}") from None
            if self.compiled[-1].search("") is not None:
                raise ValueError(f"--grep {pattern!r} matches nothing at all: every filing")

    def matches(self, filing: Filing) -> list[dict[str, Any]]:
        """Where the patterns match: the description first, then the items, the exhibits."""
        found: list[dict[str, Any]] = []
        for where, text in _places(filing):
            for pattern, regex in zip(self.patterns, self.compiled, strict=True):
                m = regex.search(text)
                if m is not None and m.end() > m.start():
                    found.append(_match(pattern, where, text, m))
                    if len(found) >= MAX_MATCHES:
                        return found
        return found

    def __call__(self, filing: Filing) -> Filing | None:
        """The filing with its ``matches``, or None when nothing matches."""
        found = self.matches(filing)
        if not found:
            return None
        return replace(filing, extra={**filing.extra, "matches": found})


def _places(filing: Filing) -> list[tuple[str, str]]:
    places = [("description", filing.description or "")]
    details = filing.details
    text = details.text if isinstance(details, EightK | Report) else None
    if isinstance(text, Text):
        for item in text.items:
            if isinstance(item.text, str):
                places.append((f"item {item.code}", item.text))
        for exhibit in text.exhibits:
            if isinstance(exhibit.text, str):
                places.append((exhibit.type, exhibit.text))
    return places


_WHITESPACE = re.compile(r"\s+")


def _match(pattern: str, where: str, text: str, m: re.Match[str]) -> dict[str, Any]:
    """``{pattern, in, snippet, at}``: the snippet on one line (runs of white space made one
    space, an ellipsis where the text goes on), ``at`` the match's span in it."""
    start, end = max(0, m.start() - CONTEXT), min(len(text), m.end() + CONTEXT)
    pre = _WHITESPACE.sub(" ", text[start : m.start()]).lstrip()
    hit = _WHITESPACE.sub(" ", m.group())
    post = _WHITESPACE.sub(" ", text[m.end() : end]).rstrip()
    lead = "…" if start > 0 else ""
    trail = "…" if end < len(text) else ""
    at = len(lead) + len(pre)
    return {
        "pattern": pattern,
        "in": where,
        "snippet": f"{lead}{pre}{hit}{post}{trail}",
        "at": [at, at + len(hit)],
    }


class Hit(NamedTuple):
    where: str  # "item 5.02"
    snippet: str
    start: int  # the match's span in the snippet
    end: int


def first_hit(filing: Filing) -> Hit | None:
    """``--grep``'s first match (what the table marks, hooks and notifications say), or None
    when the filing carries none, or none of the shape :func:`_match` gives."""
    found = filing.extra.get("matches") if filing.extra else None
    if not isinstance(found, list) or not found or not isinstance(found[0], dict):
        return None
    where, snippet, at = found[0].get("in"), found[0].get("snippet"), found[0].get("at")
    if not (isinstance(where, str) and isinstance(snippet, str) and isinstance(at, list)):
        return None
    if len(at) != 2 or not all(isinstance(n, int) for n in at):
        return None
    start, end = at
    return Hit(where, snippet, start, end) if 0 <= start < end <= len(snippet) else None


def first_match(filing: Filing) -> str | None:
    """``--grep``'s first match as one line, ``where: snippet`` (hooks' ``SECFEED_MATCH``, a
    notification's line), or None."""
    hit = first_hit(filing)
    return None if hit is None else f"{hit.where}: {hit.snippet}"


def without_full_text(filing: Filing) -> Filing:
    """The filing with only the excerpts of its words (the default: a line stays a sane
    size); ``--text-full`` keeps the whole."""
    details = filing.details
    if not isinstance(details, EightK | Report) or not isinstance(details.text, Text):
        return filing
    text = details.text
    items = [replace(i, text=UNSET) for i in text.items]
    exhibits = [replace(e, text=UNSET) for e in text.exhibits]
    lean = replace(details, text=replace(text, items=items, exhibits=exhibits))
    return replace(filing, extra={**filing.extra, "details": lean})
