#!/usr/bin/env python3
"""Build the list of EDGAR form types that ``--form`` typos are checked against.

Sources (all in ``shared/data``, real SEC EDGAR output; see shared/data/SOURCES.md):
the daily index files master 2020-01-03, form 2020-03-18, company 2022-10-03 and crawler
2023-07-03, the quarterly XBRL index 2023 QTR1, and the two latest-filings captures
(2025-12-12 and 2026-01-12). SEC/EDGAR data is a US-government work in the public domain.
Forms that EDGAR renamed or that are common but absent from those days (SC 13D/G, SCHEDULE
13D/G, 10-KT, ...) come from :data:`secfeed_cli.filtering.forms.COMMON_FORMS`.

Writes ``secfeed_cli/data/edgar-forms.txt``: a comment header, then one form per line, sorted.

Usage: python3 scripts/make_forms.py [SHARED_DATA_DIR] [--check]
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "secfeed_cli" / "data" / "edgar-forms.txt"
sys.path.insert(0, str(ROOT))

from secfeed_cli.filtering.forms import COMMON_FORMS  # noqa: E402

PIPE = {"edgar-daily-master-2020-01-03.idx": 2, "edgar-full-index-xbrl-2023-QTR1.idx": 2}
FIXED = {  # file -> (start, end) of the Form Type column
    "edgar-daily-form-2020-03-18.idx": (0, 12),
    "edgar-daily-company-2022-10-03.idx": (62, 74),
    "edgar-daily-crawler-2023-07-03.idx": (62, 74),
}
CSVS = ("edgar-latest-filings-atom-2025-12-12.csv", "edgar-latest-filings-atom-2026-01-12.csv")
HEADER = """\
# EDGAR form types seen in real SEC data, for secfeed's --form typo check.
# Built by scripts/make_forms.py from shared/data (SEC EDGAR daily indexes of 2020-01-03,
# 2020-03-18, 2022-10-03, 2023-07-03, the XBRL index of 2023 QTR1, and the latest-filings
# feed of 2025-12-12 and 2026-01-12), plus secfeed's list of common forms. Public domain data.
"""


def _rows(path: Path) -> list[str]:
    lines = path.read_text(encoding="latin-1").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("-----")) + 1
    return [line for line in lines[start:] if line.strip()]


def collect(data: Path) -> set[str]:
    forms: set[str] = set(COMMON_FORMS)
    for name, column in PIPE.items():
        forms.update(row.split("|")[column].strip() for row in _rows(data / name))
    for name, (a, b) in FIXED.items():
        forms.update(row[a:b].strip() for row in _rows(data / name))
    for name in CSVS:
        with open(data / name, encoding="utf-8", newline="") as fh:
            forms.update(row["form_type"].strip() for row in csv.DictReader(fh))
    forms.discard("")
    return forms


def render(forms: set[str]) -> str:
    return HEADER + "".join(f"{form}\n" for form in sorted(forms))


def main(argv: list[str]) -> int:
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    data = Path(args[0]) if args else ROOT.parent / "shared" / "data"
    text = render(collect(data))
    if check:
        if OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is out of date: run scripts/make_forms.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({text.count(chr(10)) - HEADER.count(chr(10))} forms)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
