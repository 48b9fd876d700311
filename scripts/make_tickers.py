#!/usr/bin/env python3
"""Build the bundled CIK -> name/ticker map from SEC's company_tickers.json.

Source: ``shared/data/sec-company-tickers-2026-02-13.json``, a byte-identical copy of
https://www.sec.gov/files/company_tickers.json as downloaded on 2026-02-13 (see
shared/data/SOURCES.md): 10,338 rows, 8,049 distinct CIKs. SEC/EDGAR data is a US-government
work in the public domain.

Writes ``secfeed_cli/data/company-tickers.json`` (``tickers.Bundled``): the source and its date;
each CIK once, in the order of its first row, with that row's name and all its tickers (the
first row of a CIK carries its primary ticker), ready for the first filing's lookup; then SEC's
rows in its order, a list per field. One line per field; plain JSON (no gzip), as loading it is
then msgspec's decoding alone (~4 ms instead of ~15 for a gzipped table split in Python).

A gzipped copy of the same file is kept in tests/data (the test suite checks the bundled map
against it where shared/ is not at hand).

Usage: python3 scripts/make_tickers.py [SEC_JSON[.gz]] [--check]
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "secfeed_cli" / "data" / "company-tickers.json"
DEFAULT = ROOT.parent / "shared" / "data" / "sec-company-tickers-2026-02-13.json"
sys.path.insert(0, str(ROOT))

from secfeed_cli.companies.tickers import bundle, parse_sec_json  # noqa: E402

SOURCE = "https://www.sec.gov/files/company_tickers.json"
DATE = "2026-02-13"


def build(src: Path) -> bytes:
    raw = src.read_bytes()
    rows = parse_sec_json(gzip.decompress(raw) if src.suffix == ".gz" else raw)
    return bundle(rows, source=SOURCE, date=DATE)


def main(argv: list[str]) -> int:
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    data = build(Path(args[0]) if args else DEFAULT)
    if check:
        if OUT.read_bytes() != data:
            print(f"{OUT} is out of date: run scripts/make_tickers.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_bytes(data)
    print(f"wrote {OUT} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
