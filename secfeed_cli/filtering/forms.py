"""SEC form families (for colour) and the common form types (for shell completion). Pure."""

from __future__ import annotations

import re

FAMILIES: list[tuple[str, re.Pattern[str]]] = [
    ("insider", re.compile(r"(3|4|5|144)(/A)?\Z")),
    ("periodic", re.compile(r"(10-K|10-Q|20-F|40-F|10-KT|10-QT|11-K)[0-9A-Z]*(/A)?\Z")),
    ("current", re.compile(r"(8-K|6-K)[0-9A-Z]*(/A)?\Z")),
    ("registration", re.compile(r"(S-\d|F-\d|424B|FWP|POS AM|EFFECT|S-8 POS)")),
    ("ownership", re.compile(r"(SC |SCHEDULE )13[DG]")),
    ("funds", re.compile(r"(N-|497|485|40-17|24F)")),
]

#: The most frequent forms in the EDGAR feed (shared/data captures), for --form completion.
COMMON_FORMS = (
    "3",
    "4",
    "5",
    "144",
    "8-K",
    "8-K/A",
    "6-K",
    "10-K",
    "10-K/A",
    "10-Q",
    "10-Q/A",
    "20-F",
    "40-F",
    "11-K",
    "13F-HR",
    "13F-NT",
    "424B2",
    "424B3",
    "424B5",
    "FWP",
    "S-1",
    "S-1/A",
    "S-3",
    "S-4",
    "S-8",
    "F-1",
    "D",
    "D/A",
    "DEF 14A",
    "DEFA14A",
    "PRE 14A",
    "SC 13D",
    "SC 13D/A",
    "SC 13G",
    "SC 13G/A",
    "SCHEDULE 13D",
    "SCHEDULE 13D/A",
    "SCHEDULE 13G",
    "SCHEDULE 13G/A",
    "497",
    "497K",
    "N-CSR",
    "N-CEN",
    "N-PORT",
    "CORRESP",
    "UPLOAD",
    "EFFECT",
)


_FAMILY: dict[str, str] = {}


def family(form: str) -> str:
    found = _FAMILY.get(form)
    if found is not None:
        return found
    upper = form.upper()
    found = next((name for name, pattern in FAMILIES if pattern.match(upper)), "other")
    if len(_FAMILY) < 10_000:  # a few hundred forms exist; the bound is for hostile feeds
        _FAMILY[form] = found
    return found
