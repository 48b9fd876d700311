"""Run one command and report its wall time and peak RSS as JSON.

    python bench/measure.py [--stdout devnull|inherit|pipe] [--lines N] [--out FILE] -- CMD...

``--lines N`` reads the command's stdout and stops it once N lines have arrived (for tools that
never exit by themselves, such as wscat); otherwise the command must exit on its own, and with
``--stdout pipe`` its output is read and its lines counted until then, as ``--lines`` does.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time


def peak_rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def count_lines(fd: int, limit: float = float("inf")) -> int:
    """Read ``fd`` until its end, or until ``limit`` lines have come; how many came."""
    seen = 0
    while seen < limit and (chunk := os.read(fd, 1 << 20)):
        seen += chunk.count(b"\n")
    return seen


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stdout", choices=["devnull", "inherit", "pipe"], default="devnull")
    ap.add_argument("--lines", type=int)
    ap.add_argument("--out")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    start = time.perf_counter()
    seen = 0
    if args.lines:
        # stdin stays open (wscat closes the connection when its stdin ends).
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.PIPE)
        assert proc.stdout is not None
        seen = count_lines(proc.stdout.fileno(), args.lines)
        elapsed = time.perf_counter() - start
        rss = peak_rss_kb(proc.pid)
        proc.kill()
        proc.wait()
        ok = seen >= args.lines
    else:
        out = {"devnull": subprocess.DEVNULL, "inherit": None, "pipe": subprocess.PIPE}
        proc = subprocess.Popen(cmd, stdout=out[args.stdout], stdin=subprocess.DEVNULL)
        if proc.stdout is not None:  # a pipe read as wscat's is, until the end
            seen = count_lines(proc.stdout.fileno())
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        rss = usage.ru_maxrss
        ok = proc.returncode == 0
    result = {"seconds": elapsed, "rss_kb": rss, "ok": ok, "lines": seen}
    text = json.dumps(result)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    else:
        print(text)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
