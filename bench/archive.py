"""--archive where users feel it: the drain of a 131,072-filing burst with and without it.

Side by side in one run, interleaved (plain, archive, plain, archive, ...), one emulator
process serving the burst on 127.0.0.1, NDJSON into a pipe this harness reads. Two times per
run: until the last line arrived (the drain a reader sees) and until the process exited (the
archive complete: every filing in it, committed). Each archive run starts from a new file.
Then `archive search` over the result, and the archive's size.

    .venv/bin/python bench/archive.py [--n 131072] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from run import start_emulator  # bench/run.py

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def drain(url: str, n: int, archive: str | None) -> tuple[float, float]:
    """(seconds to the n-th line, seconds to exit) of one `tail --backlog-only` run."""
    args = [PY, "-m", "secfeed_cli", "tail", "--url", url, "--backlog-only", "-q", "-f", "ndjson"]
    if archive:
        args += ["--archive", archive]
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, cwd=ROOT)
    assert proc.stdout is not None
    lines = 0
    last = None
    while chunk := os.read(proc.stdout.fileno(), 1 << 20):
        lines += chunk.count(b"\n")
        if lines >= n and last is None:
            last = time.perf_counter() - start
    if proc.wait() != 0 or lines != n:
        raise SystemExit(f"bench: a run printed {lines} lines, exit {proc.returncode}")
    return last or 0.0, time.perf_counter() - start


def row(name: str, xs: list[float]) -> str:
    return f"| {name} | {min(xs):.3f} | {statistics.median(xs):.3f} | {max(xs):.3f} |"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=131_072)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    emulator, url = start_emulator("--firehose", str(args.n), "--rate", "1000", "--backlog", "0")
    times: dict[str, list[float]] = {k: [] for k in ("plain", "archive")}
    exits: dict[str, list[float]] = {k: [] for k in ("plain", "archive")}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            drain(url, args.n, None)  # warm-up: page cache, the map's first load
            for i in range(args.runs):
                for kind in ("plain", "archive") if i % 2 == 0 else ("archive", "plain"):
                    path = os.path.join(tmp, f"a{i}.db") if kind == "archive" else None
                    lines, done = drain(url, args.n, path)
                    times[kind].append(lines)
                    exits[kind].append(done)
                    if path:
                        db = sqlite3.connect(path)
                        count = db.execute("SELECT count(*) FROM filings").fetchone()[0]
                        db.close()
                        if count != args.n:
                            raise SystemExit(f"bench: the archive holds {count}, not {args.n}")
            path = os.path.join(tmp, "a0.db")
            size = sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
            t = time.perf_counter()
            subprocess.run(
                [PY, "-m", "secfeed_cli", "archive", "search", path, "8-K", "Inc"],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            search = time.perf_counter() - t
        finally:
            emulator.terminate()
            emulator.wait()
    med = {k: statistics.median(v) for k, v in times.items()}
    med_exit = {k: statistics.median(v) for k, v in exits.items()}
    ratio_lines = med["plain"] / med["archive"]
    ratio_exit = med_exit["plain"] / med_exit["archive"]
    target = 0.7
    print(f"{args.n:,} filings, {args.runs} runs each, interleaved; seconds min | median | max\n")
    print("| run | min | median | max |\n| --- | --- | --- | --- |")
    print(row("plain: last line", times["plain"]))
    print(row("--archive: last line", times["archive"]))
    print(row("plain: exit", exits["plain"]))
    print(row("--archive: exit (archive complete)", exits["archive"]))
    print()
    verdict = "met" if ratio_lines >= target else "not met"
    print(f"- throughput with --archive, to the last line: {ratio_lines:.2f}x of plain ({verdict})")
    print(f"- to the exit (every filing committed; no target): {ratio_exit:.2f}x of plain")
    # Each round ran one plain and one --archive drain back to back: their ratio, round by round.
    rounds = sorted(p / a for p, a in zip(times["plain"], times["archive"], strict=True))
    print(
        f"- to the last line, round by round: {rounds[0]:.2f}x min, "
        f"{statistics.median(rounds):.2f}x median, {rounds[-1]:.2f}x max"
    )
    rate = args.n / med_exit["archive"]
    print(f"- archive ingest: {rate:,.0f} filings/s (to exit, median)")
    print(f"- archive size: {size / (1 << 20):.1f} MiB for {args.n:,} filings")
    print(f"- `archive search ... 8-K Inc` over it (a new process): {search:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
