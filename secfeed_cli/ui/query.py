"""The ui's filter, as typed after ``/``: words that narrow the list. Pure.

- Every word must match (``8-k apple``); ``!word`` must not (``!4``).
- ``a,b`` matches either (``8-k,4``: an 8-K or a Form 4).
- A word matches a filing when it *is* its form (an amendment counts as its base form) or its
  ticker, or when it begins a word of its company, of the filer's name and role in the
  description, or of its 8-K items (code or name); any case. So ``4`` is Form 4 (not every
  company with a 4 in its CIK), ``jpm`` finds JPMorgan, ``5.02`` and ``departure`` the 8-Ks
  of item 5.02.

Each filing is matched against two lower-case strings made once when it arrives
(:func:`keys_of`), so a new filter over the whole buffer is a few substring tests a filing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from ..wire.details import EightK, Report, Text
from ..wire.filing import Filing, split_description

#: Between the pieces of a filing's keys: never typed, so a word cannot match across two.
SEP = "\x00"
#: A word of a name: begins with a letter or digit (so "(GME)" and "&" start none).
_WORD = re.compile(r"\w\S*")


class Keys(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """What a filing is matched on: ``exact`` (form, base form, ticker, each whole between
    separators) and ``text`` (company, description, 8-K item names)."""

    exact: str
    text: str  # each word of the names after a space


def keys_of(filing: Filing) -> Keys:
    form = filing.form.strip().lower()
    base = form.removesuffix("/a")
    ticker = (filing.ticker or "").lower()
    name, role = split_description(filing.description, filing.form)
    parts = [filing.company or "", name or "", role or ""]
    details = filing.details
    if isinstance(details, EightK):
        parts.extend(n for n in details.item_names if n)
        parts.extend(details.items)
    if isinstance(details, EightK | Report):
        if isinstance(details.text, Text):  # --text: "/" matches the words of the filing
            for item in details.text.items:
                parts.append(item.text if isinstance(item.text, str) else item.excerpt)
            for exhibit in details.text.exhibits:
                parts.append(exhibit.text if isinstance(exhibit.text, str) else exhibit.excerpt)
    text = "".join(" " + w for w in _WORD.findall(" ".join(parts).lower()))
    return Keys(f"{SEP}{form}{SEP}{base}{SEP}{ticker}{SEP}", text)


class Word(msgspec.Struct, frozen=True):
    choices: tuple[str, ...]  # any of these
    exclude: bool = False

    def matches(self, keys: Keys) -> bool:
        for choice in self.choices:
            if f"{SEP}{choice}{SEP}" in keys.exact or f" {choice}" in keys.text:
                return True
        return False


class Query(msgspec.Struct, frozen=True):
    """A parsed filter; the empty one matches everything."""

    text: str = ""
    words: tuple[Word, ...] = ()

    @property
    def active(self) -> bool:
        return bool(self.words)

    def matches(self, keys: Keys) -> bool:
        for word in self.words:
            if word.matches(keys) == word.exclude:
                return False
        return True

    def source(self, keys: str = "k") -> str:
        """The filter as one Python expression over ``keys`` (a :class:`Keys`): what
        :func:`selector` compiles, so that a new filter over 100,000 filings makes no call a
        filing (a method call each made typing a filter visibly slow). The words' text goes in
        as literals (``repr``), never as code."""
        parts = []
        for word in self.words:
            tests = " or ".join(
                f"{SEP + c + SEP!r} in {keys}.exact or {' ' + c!r} in {keys}.text"
                for c in word.choices
            )
            parts.append(f"not ({tests})" if word.exclude else f"({tests})")
        return " and ".join(parts) or "True"


def selector(query: Query) -> Callable[[Iterable[Any]], list[int]]:
    """``[e.seq for e in entries if <the query>]`` compiled: entries have ``seq`` and
    ``keys`` (``rows.Entry``)."""
    code = f"lambda entries: [e.seq for e in entries if {query.source('e.keys')}]"
    made: Callable[[Iterable[Any]], list[int]] = eval(code, {"__builtins__": {}})
    return made


def parse(text: str) -> Query:
    """``text`` as typed; words left empty (a lone ``!`` or ``,``, while typing) are ignored."""
    words = []
    for raw in text.lower().split():
        exclude = raw.startswith("!")
        choices = tuple(c for c in raw.lstrip("!").split(",") if c)
        if choices:
            words.append(Word(choices, exclude))
    return Query(text, tuple(words))
