"""The house's second pass (#43) costs nothing where users feel it: this tree against a git
revision from before it, interleaved run by run, on the same machine at the same time.

1. The NDJSON drain: a 131,072-filing burst from the emulator into ``secfeed tail
   --backlog-only`` (stdout to a pipe), seconds per run.
2. The details parse: every real EDGAR document in ``tests/data/edgar`` read and encoded to
   JSON as ``--details`` does (Forms 3/4/5, 8-K headers, Schedules 13D/G), ``--parse-rounds``
   times over, in a process of each tree (its own ``secfeed_cli``), seconds per run.

    .venv/bin/python bench/house.py [--base 0abc504] [--runs 7] [--n 131072] [--parse-rounds 20]

Writes min/median/max per tree and the ratio of the medians (this tree / base): below 1.0 is
faster. ``bench/HOUSE.md`` holds a run's figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from details import drain, worktree  # noqa: E402 - bench/details.py, beside this one

#: Run in each tree: parse and encode every sample ROUNDS times; prints the seconds taken.
PARSE = """
import sys, time
from pathlib import Path
import msgspec
from secfeed_cli.details.eightk import parse_8k
from secfeed_cli.details.ownership import ownership_xml, parse_ownership
from secfeed_cli.details.schedule13 import parse_schedule13
from secfeed_cli.details.sgml import DetailsError, parse_header

docs = Path(sys.argv[1])
rounds = int(sys.argv[2])
texts = [
    (p.name, p.read_text(encoding="utf-8", errors="replace"))
    for p in sorted(docs.iterdir())
    if p.suffix in (".txt", ".xml", ".html")
]

def one(name, text):
    if name.startswith("8k"):
        return parse_8k(text)
    if name.startswith("sc13"):
        return parse_schedule13(ownership_xml(text) if name.endswith(".txt") else text)
    if name.endswith(".txt"):
        return parse_ownership(ownership_xml(text), parse_header(text, party="ISSUER"))
    return parse_ownership(text)

encode = msgspec.json.encode
start = time.perf_counter()
for _ in range(rounds):
    for name, text in texts:
        try:
            encode(one(name, text))
        except DetailsError:
            pass
print(time.perf_counter() - start)
"""


def parse(tree: Path, rounds: int) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECFEED")}
    out = subprocess.run(
        [sys.executable, "-c", PARSE, str(ROOT / "tests" / "data" / "edgar"), str(rounds)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip())


def spread(values: list[float]) -> str:
    ordered = sorted(values)
    return f"min {ordered[0]:.3f}  median {statistics.median(ordered):.3f}  max {ordered[-1]:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="0abc504")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--n", type=int, default=131_072)
    ap.add_argument("--parse-rounds", type=int, default=20)
    args = ap.parse_args()
    drains: dict[str, list[float]] = {args.base: [], "this tree": []}
    parses: dict[str, list[float]] = {args.base: [], "this tree": []}
    with worktree(args.base) as base:
        for run in range(args.runs):
            # Interleaved, and the order swapped each run: neither tree always goes first.
            trees = [(args.base, base), ("this tree", ROOT)]
            for name, tree in trees if run % 2 == 0 else trees[::-1]:
                drains[name].append(drain(tree, args.n))
                parses[name].append(parse(tree, args.parse_rounds))
    for title, runs in (
        (f"NDJSON drain of {args.n:,} filings, s", drains),
        (f"details parse and encode, {args.parse_rounds} x the samples, s", parses),
    ):
        print(title)
        for name, values in runs.items():
            print(f"  {name:<10} {spread(values)}")
        ratio = statistics.median(runs["this tree"]) / statistics.median(runs[args.base])
        print(f"  median, this tree / {args.base}: {ratio:.3f}")


if __name__ == "__main__":
    main()
