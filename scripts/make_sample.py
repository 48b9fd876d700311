#!/usr/bin/env python3
"""Build the emulator's bundled sample from real EDGAR data.

Source: ``shared/data/edgar-latest-filings-atom-2026-01-12.csv``, flattened from the EDGAR
"latest filings" Atom feed (https://www.sec.gov/cgi-bin/browse-edgar?action=getcurrent...)
polled on 2026-01-12 16:28:51-16:29:11 GMT; see shared/data/SOURCES.md. SEC/EDGAR data is a
US-government work in the public domain.

The feed has one entry per (filing, entity) pair; the WebSocket announces a filing once, so this
keeps one record per accession number, taking the entity in role order Filer, Issuer, Subject,
Filed by, then any other (Reporting owners last). Each record is written in the wire schema
(``type: "fillings"``, ``filling_date``) without ``is_historical`` and ``discovered_time``, which
the emulator stamps when it publishes. Records are sorted oldest accepted first.

Usage: python3 scripts/make_sample.py ../shared/data/edgar-latest-filings-atom-2026-01-12.csv
"""

from __future__ import annotations

import csv
import gzip
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

ROLE_ORDER = {"Filer": 0, "Issuer": 1, "Subject": 2, "Filed by": 3}
OUT = Path(__file__).resolve().parent.parent / "secfeed_cli" / "emulator" / "sample.ndjson.gz"


def main(src: str) -> None:
    best: dict[str, tuple[int, int, dict[str, str]]] = {}
    with open(src, encoding="utf-8", newline="") as fh:
        for pos, row in enumerate(csv.DictReader(fh)):
            rank = ROLE_ORDER.get(row["role"], 4 if row["role"] != "Reporting" else 5)
            acc = row["accession_number"]
            if acc not in best or rank < best[acc][0]:
                best[acc] = (rank, pos, row)
    records = []
    for _rank, pos, row in best.values():
        accepted = datetime.fromisoformat(row["accepted_datetime"]).astimezone(timezone.utc)
        cik10 = row["cik"]
        records.append(
            (
                accepted,
                -pos,  # the feed is newest first: a later row is older at the same second
                {
                    "type": "fillings",
                    "form": row["form_type"],
                    "description": (
                        f"{row['form_type']} - {row['company_name']} ({cik10}) ({row['role']})"
                    ),
                    "filling_date": row["filed_date"],
                    "accepted_time": accepted.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "accession_no": row["accession_number"],
                    "cik": int(cik10),
                },
            )
        )
    records.sort(key=lambda r: (r[0], r[1]))
    lines = "".join(json.dumps(r[2], ensure_ascii=False) + "\n" for r in records)
    # mtime=0 keeps the file byte-identical across runs.
    with open(OUT, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(lines.encode("utf-8"))
    print(f"wrote {len(records)} filings to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main(
        sys.argv[1]
        if len(sys.argv) > 1
        else "../shared/data/edgar-latest-filings-atom-2026-01-12.csv"
    )
