"""SEC's limit held under a 500-filing backlog: `tail --backlog-only --details` against the
emulator's feed (500 real sample filings) and an http.server playing EDGAR that records when
each request arrives; prints the busiest second at the server.

    .venv/bin/python bench/edgar_rate.py [--rate 10] [--backlog 500]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from secfeed_cli.emulator.runner import EmulatorThread  # noqa: E402
from secfeed_cli.emulator.server import EmulatorConfig  # noqa: E402
from tests.test_edgar import Sec  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=10.0)
    ap.add_argument("--backlog", type=int, default=500)
    args = ap.parse_args()
    sec = Sec(keep_alive=True)  # every document a 404: each is asked, and asked again once
    runner = EmulatorThread(EmulatorConfig(backlog=args.backlog, rate=0, heartbeat_interval=0.1))
    em = runner.start()
    try:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "secfeed_cli",
                "tail",
                "--url",
                em.url,
                "--backlog-only",
                "--details",
                "--details-wait",
                "600",
                "--edgar-rate",
                str(args.rate),
                "--user-agent",
                "secfeed bench bench@localhost",
                "--edgar-url",
                sec.url,
            ],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    finally:
        runner.stop()
        sec.close()
    times = sorted(t for _, _, t in sec.seen)
    busiest = max(sum(1 for t in times if s <= t < s + 1.0) for s in times)
    span = times[-1] - times[0]
    lines = out.count(b"\n")
    print(
        f"{lines} filings, {len(times)} EDGAR requests in {span:.1f} s"
        f" over {sec.connections} connections; busiest second: {busiest} requests"
        f" (--edgar-rate {args.rate:g}; SEC allows 10)"
    )


if __name__ == "__main__":
    main()
