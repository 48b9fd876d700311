"""Is a ``--form`` value a real EDGAR form type? One warning per typo, with the closest form.

The list (``data/edgar-forms.txt``) is built by ``scripts/make_forms.py`` from real EDGAR
indexes and feed captures. It only warns: a new form type can appear any day, so an unknown
form still filters as given.
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import re
from collections.abc import Iterable
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "edgar-forms.txt"

#: EDGAR renamed the beneficial-ownership schedules on 2024-12-18 (the EDGAR Next / Schedule
#: 13D/G rule): the live feed carries only the new names.
RENAMED = {
    "SC 13D": "SCHEDULE 13D",
    "SC 13D/A": "SCHEDULE 13D/A",
    "SC 13G": "SCHEDULE 13G",
    "SC 13G/A": "SCHEDULE 13G/A",
}


@functools.cache
def known_forms() -> tuple[str, ...]:
    lines = DATA.read_text(encoding="utf-8").splitlines()
    return tuple(line for line in lines if line and not line.startswith("#"))


def _squash(form: str) -> str:
    """Letters and digits only, upper case: ``8k`` and ``8-K`` squash alike."""
    return re.sub(r"[^0-9A-Z]", "", form.upper())


def closest(name: str) -> str | None:
    """The known form a mistyped ``name`` most likely means."""
    forms = known_forms()
    upper = {f.upper(): f for f in forms}
    # O for 0 and I for 1 are the classic slips: the reading with digits goes first.
    guesses = dict.fromkeys([name.upper().replace("O", "0").replace("I", "1"), name.upper()])
    for guess in guesses:
        same = [f for f in forms if _squash(f) == _squash(guess)]
        if same:
            return min(same, key=len)
    for guess in reversed(guesses):
        match = difflib.get_close_matches(guess, list(upper), n=1, cutoff=0.6)
        if match:
            return upper[match[0]]
    return None


def check(patterns: Iterable[str]) -> list[str]:
    """A warning for each pattern that matches no known EDGAR form type."""
    forms = known_forms()
    upper = {f.upper() for f in forms}
    warnings = []
    for pattern in patterns:
        key = pattern.upper()
        if key in RENAMED:
            warnings.append(
                f"form {pattern!r} was renamed {RENAMED[key]} by EDGAR in December 2024:"
                f" the feed no longer carries it (did you mean {RENAMED[key]}?)"
            )
            continue
        if any(ch in pattern for ch in "*?["):
            regex = re.compile(fnmatch.translate(key))
            if any(regex.match(f) for f in upper):
                continue
            guess = closest(pattern.rstrip("*?"))
            hint = f" (did you mean {guess}*?)" if guess else ""
            warnings.append(f"form pattern {pattern!r} matches no known EDGAR form{hint}")
            continue
        if key in upper:
            continue
        guess = closest(pattern)
        hint = f" (did you mean {guess}?)" if guess else ""
        warnings.append(f"unknown form {pattern!r}{hint}; it is used as given")
    return warnings
