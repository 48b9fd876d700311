"""secfeed relay into NATS JetStream: burst throughput with acknowledgements, and the latency
from the emulator to a ``tail --from`` consumer.

    python bench/relay.py [--n 131072] [--runs 3] [--rate 1000] [--seconds 10]

Throughput: ``secfeed serve --firehose N`` (one emulator) drained by ``secfeed relay
--backlog-only`` into a fresh ``nats-server -js`` (file storage, on 127.0.0.1), each run into an
empty stream; the relay exits once NATS has acknowledged every filing. Reported as filings a
second (min/median/max), beside ``secfeed tail --backlog-only`` draining the same firehose to
/dev/null (the relay's cost over printing).

Latency: the emulator publishes ``--rate`` live filings a second; a relay publishes them; a
``secfeed tail --from nats:// --latency`` consumer prints them. ``latency_ms`` in its output is
the consumer's receive time minus the emulator's ``discovered_time``: the whole path, emulator ->
relay -> NATS -> consumer, on one machine (one clock). p50/p99 over the run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
SECFEED = str(BIN / "secfeed")
NATS = shutil.which("nats-server", path=str(BIN)) or "nats-server"


def log(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


def start(
    cmd: list[str], ready: str, stream: str = "stdout"
) -> tuple[subprocess.Popen[bytes], str]:
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE if stream == "stdout" else subprocess.DEVNULL,
        stderr=subprocess.PIPE if stream == "stderr" else subprocess.DEVNULL,
    )
    pipe = proc.stdout if stream == "stdout" else proc.stderr
    assert pipe is not None
    for raw in pipe:
        line = raw.decode()
        if ready in line:
            return proc, line.strip()
    raise SystemExit(f"bench: {cmd[0]} did not start")


def run_nats(store: Path) -> tuple[subprocess.Popen[bytes], str]:
    proc = subprocess.Popen(
        [NATS, "-js", "-a", "127.0.0.1", "-p", "-1", "-sd", str(store)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    url = ""
    for raw in proc.stderr:
        line = raw.decode()
        if "Listening for client connections on" in line:
            url = "nats://" + line.rsplit(" ", 1)[1].strip()
        if "Server is ready" in line:
            break
    return proc, url


def timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def throughput(n: int, runs: int) -> dict[str, list[float]]:
    emu, url = start([SECFEED, "serve", "--port", "0", "-q", "--firehose", str(n)], "ws://")
    results: dict[str, list[float]] = {"relay": [], "tail": []}
    try:
        for i in range(runs):
            with tempfile.TemporaryDirectory() as store:
                server, nats_url = run_nats(Path(store))
                try:
                    relay = [
                        SECFEED,
                        "relay",
                        "--url",
                        url,
                        "--to",
                        nats_url,
                        "--backlog-only",
                        "-q",
                    ]
                    tail = [SECFEED, "tail", "--url", url, "--backlog-only", "-q"]
                    pair = [("relay", relay), ("tail", tail)]
                    for name, cmd in pair if i % 2 == 0 else pair[::-1]:
                        results[name].append(timed(cmd))
                        log(f"{name} run {i + 1}: {results[name][-1]:.2f} s")
                finally:
                    server.terminate()
                    server.wait()
    finally:
        emu.terminate()
        emu.wait()
    return results


def latency(rate: float, seconds: float) -> list[float]:
    with tempfile.TemporaryDirectory() as store:
        server, nats_url = run_nats(Path(store))
        emu, url = start(
            [SECFEED, "serve", "--port", "0", "-q", "--rate", str(rate), "--backlog", "0"], "ws://"
        )
        # The relay has made the stream once it says it is connected to the feed.
        relay, _ = start(
            [SECFEED, "relay", "--url", url, "--to", nats_url], "connected to", "stderr"
        )
        try:
            n = int(rate * seconds)
            out = subprocess.run(
                [
                    SECFEED,
                    "tail",
                    "--from",
                    nats_url,
                    "--no-backlog",
                    "--latency",
                    "--count",
                    str(n),
                    "-q",
                ],
                capture_output=True,
                check=True,
            ).stdout
        finally:
            for proc in (relay, emu, server):
                proc.terminate()
                proc.wait()
    return [json.loads(line)["latency_ms"] for line in out.splitlines()]


def spread(values: list[float]) -> str:
    return f"min {min(values):.2f} / median {statistics.median(values):.2f} / max {max(values):.2f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=131072)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--seconds", type=float, default=10)
    args = ap.parse_args()
    res = throughput(args.n, args.runs)
    rates = [args.n / t for t in res["relay"]]
    lat = sorted(latency(args.rate, args.seconds))
    p50 = lat[len(lat) // 2]
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    ratio = statistics.median(res["relay"]) / statistics.median(res["tail"])
    nats_version = subprocess.run([NATS, "--version"], capture_output=True, text=True).stdout
    lines = [
        "# secfeed relay: benchmarks",
        "",
        f"Generated by `python bench/relay.py --n {args.n} --runs {args.runs} --rate"
        f" {args.rate:g} --seconds {args.seconds:g}` on"
        f" {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores,"
        f" {nats_version.strip()} (file storage, 127.0.0.1). Do not edit by hand.",
        "",
        f"- A burst of {args.n:,} filings, every one acknowledged by JetStream:"
        f" {spread(res['relay'])} s, that is {min(rates):,.0f} / {statistics.median(rates):,.0f}"
        f" / {max(rates):,.0f} filings/s (min/median/max of {args.runs} runs into an empty"
        " stream).",
        f"- `secfeed tail --backlog-only` draining the same firehose to /dev/null:"
        f" {spread(res['tail'])} s; the relay takes {ratio:.1f}x its time. The relay's own"
        " Python (nats-py's publish path, about 100 us a filing) is the limit, not nats-server.",
        f"- Latency emulator -> relay -> NATS -> `tail --from` at {args.rate:g} filings/s over"
        f" {len(lat):,} filings: p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {lat[-1]:.2f} ms.",
        "",
    ]
    (Path(__file__).resolve().parent / "RELAY.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
