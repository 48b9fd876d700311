"""--text where users feel it (#44): HTML to text against the peers, the words of a filing at
SEC's pace, and the NDJSON drain with --text off.

1. ``convert``: every real document in ``shared/data/edgar-text`` that secfeed reads for
   --text (five 8-K primary documents, Buckle's press release, and Apple's 8-K with its
   EX-1.1, EX-4.1 and EX-5.1 out of its full submission: ten documents, 690 KB), turned into
   text by secfeed (inscriptis over lxml, then its cleaning) and by edgartools
   (``edgar.documents.parse_html(html).text()``, what its ``Attachment.text()`` does), with
   html2text, selectolax and lxml beside them. Seconds for all ten per run (min/median/max),
   MB/s, the peak memory a process adds converting them (its maximum resident set, in a
   process of its own for each), and fidelity: how many of the 8-Ks' declared item headings
   come out as a line of their own (``Item 5.02 ...``), which is what splitting into items
   needs.
2. ``latency``: the emulator's EDGAR at SEC's 5 requests a second; the demo's 314-filing
   backlog with --details --text being enriched, and a live filing every second (its 8-Ks
   with words and its Forms 4, asked anew: no cache): the seconds from a live filing's arrival
   to its details and words being in, p50/p99/max.
3. ``backlog``: ``secfeed demo --details --text --backlog-only -f ndjson``: wall time, EDGAR
   requests, and filings ``deferred`` (none wanted), against (requests / 5) + 10 s.
4. ``drain``: the NDJSON drain (bench/details.py's) of this tree against a base revision from
   before --text, interleaved: --text off must not slow it.

    .venv/bin/python bench/text.py convert [--rounds 7]     # makes bench/.work/venv-text
    .venv/bin/python bench/text.py latency [--live 40]
    .venv/bin/python bench/text.py backlog [--runs 3]
    .venv/bin/python bench/text.py drain [--base 1c6de09] [--runs 7]

``bench/TEXT.md`` holds a run's figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "edgar-text"
PEERS = ROOT / "bench" / ".work" / "venv-text"
sys.path.insert(0, str(ROOT))

#: What the peers' process needs beside secfeed's own (its text extra).
PEER_PACKAGES = ("edgartools", "html2text", "selectolax", "inscriptis")

#: Run in the peers' python: one library over every document ``rounds`` times; prints JSON.
CONVERT = r"""
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
lib, rounds = sys.argv[2], int(sys.argv[3])
docs = json.loads(Path(sys.argv[4]).read_text())
if lib == "secfeed":
    from secfeed_cli.details.text import plain_text
    def convert(html): return plain_text(html.encode())[0]
elif lib == "edgartools":
    from edgar.documents import parse_html
    def convert(html): return parse_html(html).text()
elif lib == "html2text":
    import html2text
    def convert(html):
        h = html2text.HTML2Text(); h.body_width = 0; h.ignore_links = True; h.ignore_images = True
        return h.handle(html)
elif lib == "selectolax":
    from selectolax.lexbor import LexborHTMLParser
    def convert(html):
        tree = LexborHTMLParser(html)
        return tree.body.text(separator="\n") if tree.body else ""
elif lib == "lxml":
    import lxml.html
    def convert(html):
        return "\n".join(lxml.html.document_fromstring(html.encode()).itertext())
texts = [d["html"] for d in docs]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # the library imported
convert(texts[0])  # its caches warmed
runs, outs = [], []
for _ in range(rounds):
    start = time.perf_counter()
    outs = [convert(t) for t in texts]
    runs.append(time.perf_counter() - start)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"runs": runs, "peak_kb": peak, "texts": outs}))
"""


def documents() -> list[dict[str, Any]]:
    """The ten documents, each ``{name, html, items}`` (the items its 8-K declares, if a
    primary document: read off the manifest and the documents, as tests/test_text.py's)."""
    from tests.test_text import DECLARED  # the same reading the tests hold

    out = []
    for name, items in DECLARED.items():
        out.append(
            {"name": name, "html": (DATA / name).read_text("utf-8", "replace"), "items": items}
        )
    ex = "8-K-unknown-buckle-20241122-ex99-1.htm"
    out.append({"name": ex, "html": (DATA / ex).read_text("utf-8", "replace"), "items": []})
    full = (DATA / "8-K-0001193125-19-292676-item-8.01-full.txt").read_text("latin-1")
    for name in ("d828969d8k.htm", "d828969dex11.htm", "d828969dex41.htm", "d828969dex51.htm"):
        start = full.index("<TEXT>", full.index(f"<FILENAME>{name}")) + len("<TEXT>")
        body = full[start : full.index("</TEXT>", start)]
        items = ["8.01", "9.01"] if name.endswith("d8k.htm") else []
        out.append({"name": f"apple/{name}", "html": body, "items": items})
    return out


def headings(text: str, items: list[str]) -> int:
    """How many of ``items`` head a line of their own in ``text`` (``Item 5.02``,
    ``ITEM 9.01(d)``, ``Item 9.``), as :func:`secfeed_cli.details.text.sections` needs."""
    found = 0
    for code in items:
        major, _, minor = code.partition(".")
        number = rf"{int(major)}\.{minor}" if minor else rf"{int(major)}\."
        if re.search(rf"^[ \t]*(?:\*\*)?item[ \t\u00a0]*{number}", text, re.I | re.M):
            found += 1
    return found


def peers_python() -> Path:
    python = PEERS / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "-e", f"{ROOT}[text]", *PEER_PACKAGES],
            check=True,
        )
    return python


def spread(values: list[float], digits: int = 3) -> str:
    ordered = sorted(values)
    f = f".{digits}f"
    return f"min {ordered[0]:{f}}  median {statistics.median(ordered):{f}}  max {ordered[-1]:{f}}"


def convert(rounds: int) -> None:
    python = peers_python()
    docs = documents()
    size = sum(len(d["html"].encode()) for d in docs)
    work = ROOT / "bench" / ".work" / "text-docs.json"
    work.write_text(json.dumps(docs))
    declared = sum(len(d["items"]) for d in docs)
    print(f"{len(docs)} documents, {size / 1e6:.2f} MB; {declared} item headings declared")
    medians = {}
    for lib in ("secfeed", "edgartools", "html2text", "selectolax", "lxml"):
        out = subprocess.run(
            [str(python), "-c", CONVERT, str(ROOT), lib, str(rounds), str(work)],
            capture_output=True,
            text=True,
            check=True,
        )
        got = json.loads(out.stdout.strip().splitlines()[-1])
        runs = got["runs"]
        medians[lib] = statistics.median(runs)
        found = sum(headings(t, d["items"]) for t, d in zip(got["texts"], docs, strict=True))
        words = sum(len(t.split()) for t in got["texts"])
        print(
            f"  {lib:<11} s: {spread(runs)}  {size / 1e6 / medians[lib]:6.2f} MB/s"
            f"  peak +{got['peak_kb'] / 1024:.0f} MB  headings {found}/{declared}"
            f"  words {words:,}"
        )
    ratio = medians["edgartools"] / medians["secfeed"]
    print(f"  edgartools / secfeed, median seconds: {ratio:.1f}x (above 1: secfeed is faster)")


def latency(live: int) -> None:
    """Live filings' details-and-words latency while the demo's backlog is enriched."""
    from secfeed_cli.details.edgar import EdgarClient
    from secfeed_cli.details.stage import Enricher, TextWanted, details_of
    from secfeed_cli.emulator.edgar import documents as bundled
    from secfeed_cli.emulator.runner import EmulatorThread
    from secfeed_cli.emulator.server import EmulatorConfig
    from secfeed_cli.wire.filing import Filing
    from tests.test_ui import filings

    runner = EmulatorThread(EmulatorConfig(backlog=300, rate=0, edgar=True))
    em = runner.start()
    edgar = em.url.replace("ws://", "http://")
    client = EdgarClient("secfeed bench bench@localhost", base_url=edgar, rate=5.0)
    done: dict[str, float] = {}

    def fetch(filing: Filing, c: EdgarClient) -> object:
        details = details_of(filing, c, TextWanted())
        if not filing.is_historical:  # the backlog has the same filings: not theirs
            done[filing.accession_no] = time.monotonic()
        return details

    stage = Enricher(client, wait=float("inf"), fetch=fetch)  # type: ignore[arg-type]
    try:
        from secfeed_cli.emulator.feed import load_sample

        backlog = filings(load_sample()[:300], historical=True) + filings(bundled()[0], True)
        stage.add(backlog, time.monotonic())
        kinds = [f for f in filings(bundled()[0]) if f.form in ("4", "8-K")]
        asked: dict[str, float] = {}
        from msgspec.structs import replace

        for n in range(live):
            base = kinds[n % len(kinds)]
            # a new accession each time (no cache, no dedupe): same documents, asked anew
            one = replace(base, is_historical=False)
            key = f"{one.accession_no}#{n}"
            asked[key] = time.monotonic()
            done.pop(one.accession_no, None)
            stage.add([one], asked[key])
            while one.accession_no not in done:
                time.sleep(0.01)
            asked[key] = done[one.accession_no] - asked[key]
            time.sleep(max(0.0, 1.0 - asked[key]))  # one live filing a second
        waits = sorted(asked.values())
        p99 = waits[min(len(waits) - 1, int(len(waits) * 0.99))]
        print(
            f"live details and words, s ({live} live filings, backlog being enriched):"
            f" p50 {statistics.median(waits):.3f}  p99 {p99:.3f}  max {waits[-1]:.3f};"
            f" {client.requests} EDGAR requests"
        )
    finally:
        stage.close()
        runner.stop()


def backlog(runs: int) -> None:
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "secfeed_cli",
                "demo",
                "--details",
                "--text",
                "--backlog-only",
                "-f",
                "ndjson",
                "-v",  # the summary's EDGAR requests
                "--edgar-rate",
                "5",  # SEC's pace, the bound's (the demo's own default is 10)
            ],
            cwd=ROOT,
            capture_output=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("SECFEED")},
            check=True,
        )
        elapsed = time.perf_counter() - start
        records = [json.loads(line) for line in out.stdout.splitlines()]
        deferred = sum(1 for r in records if r.get("details", {}).get("status") == "deferred")
        said = re.search(rb"(\d+) EDGAR requests", out.stderr)
        requests = int(said.group(1)) if said else -1
        bound = requests / 5 + 10
        print(
            f"{len(records)} filings, {deferred} deferred, {requests} EDGAR requests:"
            f" {elapsed:.1f} s (bound (requests / 5) + 10 = {bound:.1f} s:"
            f" {'met' if elapsed <= bound and not deferred else 'NOT MET'})"
        )


def drain(base_rev: str, runs: int, n: int) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from details import drain as one_drain  # bench/details.py, beside this one
    from details import worktree

    times: dict[str, list[float]] = {base_rev: [], "this tree": []}
    with worktree(base_rev) as base:
        for run in range(runs):
            trees = [(base_rev, base), ("this tree", ROOT)]
            for name, tree in trees if run % 2 == 0 else trees[::-1]:
                times[name].append(one_drain(tree, n))
    print(f"NDJSON drain of {n:,} filings, --text off, s")
    for name, values in times.items():
        print(f"  {name:<10} {spread(values)}")
    ratio = statistics.median(times["this tree"]) / statistics.median(times[base_rev])
    print(f"  median, this tree / {base_rev}: {ratio:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="what", required=True)
    sub.add_parser("convert").add_argument("--rounds", type=int, default=7)
    sub.add_parser("latency").add_argument("--live", type=int, default=40)
    sub.add_parser("backlog").add_argument("--runs", type=int, default=3)
    d = sub.add_parser("drain")
    d.add_argument("--base", default="1c6de09")
    d.add_argument("--runs", type=int, default=7)
    d.add_argument("--n", type=int, default=131_072)
    args = ap.parse_args()
    if args.what == "convert":
        convert(args.rounds)
    elif args.what == "latency":
        latency(args.live)
    elif args.what == "backlog":
        backlog(args.runs)
    else:
        drain(args.base, args.runs, args.n)


if __name__ == "__main__":
    main()
