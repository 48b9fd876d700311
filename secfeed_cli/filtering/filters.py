"""Which filings to show: form patterns (globs, amendments), CIKs, --since. Pure."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from datetime import datetime

from ..wire.filing import Filing


def split_patterns(values: Iterable[str]) -> list[str]:
    """``--form`` values are repeatable and comma-separated: ``-F 8-K,10-K* -F 4``."""
    return [p.strip() for v in values for p in v.split(",") if p.strip()]


def compile_forms(patterns: Iterable[str]) -> re.Pattern[str] | None:
    """One case-insensitive regex for a list of form globs (``*``, ``?``, ``[...]``)."""
    pats = list(patterns)
    if not pats:
        return None
    body = "|".join(f"(?:{fnmatch.translate(p.upper())})" for p in pats)
    return re.compile(body, re.IGNORECASE)


def base_form(form: str) -> str | None:
    """The form an amendment amends (``8-K/A`` -> ``8-K``), else None."""
    upper = form.rstrip()
    if upper[-2:].upper() == "/A":
        return upper[:-2]
    return None


def parse_cik(text: str) -> int:
    """A CIK as typed by a person: digits, leading zeros allowed (``0000320193``)."""
    t = text.strip()
    if not t.isascii() or not t.isdigit() or len(t) > 10:
        raise ValueError(f"not a CIK (up to 10 digits): {text!r}")
    if int(t) == 0:
        raise ValueError(f"not a CIK (SEC's numbers start at 1): {text!r}")
    return int(t)


class FilingFilter:
    """``--form``, ``--exclude-form``, ``--no-amendments``, ``--cik`` and ``--since`` in one
    predicate.

    Made once per run and never changed; the patterns are compiled when it is made."""

    __slots__ = (
        "forms",
        "exclude",
        "ciks",
        "amendments",
        "since",
        "since_key",
        "_include",
        "_exclude",
        "_verdicts",
    )

    def __init__(
        self,
        forms: tuple[str, ...] = (),
        exclude: tuple[str, ...] = (),
        ciks: frozenset[int] = frozenset(),
        amendments: bool = True,
        since: datetime | None = None,
    ) -> None:
        self.forms = forms
        self.exclude = exclude
        self.ciks = ciks
        self.amendments = amendments
        self.since = since  # aware, UTC: discovered at or after it
        #: ``since`` as the first 19 characters of a discovered_time (RFC 3339 UTC, to the
        #: second): most filings are decided by comparing those, without parsing the time.
        self.since_key = "" if since is None else since.strftime("%Y-%m-%dT%H:%M:%S")
        self._include = compile_forms(forms)
        self._exclude = compile_forms(exclude)
        self._verdicts = _Verdicts(self._form_passes)

    def __repr__(self) -> str:
        return (
            f"FilingFilter(forms={self.forms!r}, exclude={self.exclude!r}, ciks={self.ciks!r},"
            f" amendments={self.amendments!r}, since={self.since!r})"
        )

    @property
    def active(self) -> bool:
        return bool(self.forms or self.exclude or self.ciks or self.since)

    def _matches(self, regex: re.Pattern[str], form: str) -> bool:
        if regex.match(form):
            return True
        if self.amendments:
            base = base_form(form)
            return base is not None and regex.match(base) is not None
        return False

    def __call__(self, form: str, cik: int) -> bool:
        if self.ciks and cik not in self.ciks:
            return False
        return self._form_passes(form)

    def select(self, filings: list[Filing]) -> list[Filing]:
        """The filings that pass, in order. Forms are few, so each one's verdict is kept."""
        verdicts = self._verdicts
        ciks = self.ciks
        if self.since is not None:
            filings = [f for f in filings if self.is_recent(f)]
        if ciks:
            return [f for f in filings if f.cik in ciks and verdicts[f.form]]
        return [f for f in filings if verdicts[f.form]]

    def is_recent(self, filing: Filing) -> bool:
        """Discovered at or after ``since`` (True without it)."""
        if self.since is None:
            return True
        key = filing.discovered_time[:19]
        if key != self.since_key:
            return key > self.since_key
        return filing.discovered() >= self.since  # the same second: the fraction decides

    def _form_passes(self, form: str) -> bool:
        include = self._include
        if include is not None and not self._matches(include, form):
            return False
        exclude = self._exclude
        return exclude is None or not self._matches(exclude, form)


class _Verdicts(dict[str, bool]):
    """form -> passes, computed on first sight; forgotten wholesale past ``limit`` forms (a
    server sending endless distinct forms must not grow it without bound)."""

    def __init__(self, decide: Callable[[str], bool], limit: int = 10_000) -> None:
        super().__init__()
        self.decide = decide
        self.limit = limit

    def __missing__(self, form: str) -> bool:
        if len(self) >= self.limit:
            self.clear()
        verdict = self[form] = self.decide(form)
        return verdict
