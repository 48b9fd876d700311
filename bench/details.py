"""--details where users feel it, against the emulator's EDGAR (real documents, loopback).

1. Details latency: a filing handed to the details stage until it may go out with its details
   (fetch, parse), one filing at a time, at the default pace (5 requests a second) and no
   cache: p50/p99/max over ROUNDS x 8 filings.
2. The NDJSON drain with --details off: a 131,072-filing burst, this tree against a git
   revision (default: the last commit before --details), interleaved, min/median/max.

    .venv/bin/python bench/details.py [--rounds 5] [--base 2743916] [--drain-runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from secfeed_cli.details.edgar import EdgarClient  # noqa: E402
from secfeed_cli.details.stage import Enricher  # noqa: E402
from secfeed_cli.emulator.runner import EmulatorThread  # noqa: E402
from secfeed_cli.emulator.server import EmulatorConfig  # noqa: E402
from secfeed_cli.wire.filing import Filing  # noqa: E402


def filings_of(em: object) -> list[Filing]:
    """The emulator's EDGAR filings (the newest of its backlog), as the feed would give them."""
    history = em.feed.history  # type: ignore[attr-defined]
    return [
        Filing(
            accession_no=p.record["accession_no"],
            form=p.record["form"],
            cik=p.record["cik"],
            description=p.record["description"],
            filing_date=p.record["filling_date"],
            accepted_time=p.record["accepted_time"],
            discovered_time=p.discovered_time,
            is_historical=False,
        )
        for p in list(history)[-8:]
    ]


def latency(rounds: int) -> list[float]:
    runner = EmulatorThread(EmulatorConfig(backlog=0, rate=0, edgar=True))
    em = runner.start()
    try:
        filings = filings_of(em)
        client = EdgarClient("secfeed bench bench@localhost", em.url.replace("ws://", "http://"))
        stage = Enricher(client, wait=30.0)
        times = []
        for _ in range(rounds):
            for filing in filings:
                start = time.perf_counter()
                stage.add([filing], time.time())
                [(done, _)] = stage.ready(block=True)
                times.append(time.perf_counter() - start)
                assert done.details_status == "ok", done.extra
        stage.close()
        return times
    finally:
        runner.stop()


def drain(tree: Path, n: int) -> float:
    runner = EmulatorThread(EmulatorConfig(backlog=0, rate=0, firehose=n, heartbeat_interval=0.1))
    em = runner.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECFEED")}
    try:
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-m", "secfeed_cli", "tail", "--url", em.url, "--backlog-only"],
            cwd=tree,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            check=True,
        ).stdout
        elapsed = time.perf_counter() - start
    finally:
        runner.stop()
    assert out.count(b"\n") == n
    return elapsed


@contextmanager
def worktree(rev: str) -> Iterator[Path]:
    """A checkout of ``rev`` beside this one (git worktree), removed afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        subprocess.run(
            ["git", "worktree", "add", "-q", "--detach", str(base), rev], cwd=ROOT, check=True
        )
        try:
            yield base
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT)


def spread(values: list[float], unit: float, name: str, digits: int = 1) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    f = f".{digits}f"
    return (
        f"{name}: min {ordered[0] * unit:{f}}  p50 {statistics.median(ordered) * unit:{f}}"
        f"  p99 {p99 * unit:{f}}  max {ordered[-1] * unit:{f}}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--base", default="2743916")
    ap.add_argument("--drain-runs", type=int, default=7)
    ap.add_argument("--n", type=int, default=131_072)
    args = ap.parse_args()
    print(spread(latency(args.rounds), 1000, "details latency, ms"))
    with worktree(args.base) as base:
        runs: dict[str, list[float]] = {args.base: [], "this tree": []}
        for _ in range(args.drain_runs):
            runs[args.base].append(drain(base, args.n))
            runs["this tree"].append(drain(ROOT, args.n))
    for name, values in runs.items():
        print(spread(values, 1, f"NDJSON drain of {args.n:,}, s, {name}", digits=3))
    ratio = statistics.median(runs["this tree"]) / statistics.median(runs[args.base])
    print(f"median, this tree / {args.base}: {ratio:.3f}")


if __name__ == "__main__":
    main()
