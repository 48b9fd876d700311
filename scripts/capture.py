#!/usr/bin/env python3
"""The README's capture at the top, from a real run: ``secfeed demo`` in a 118x16 tmux
terminal, read once live filings have come under the backlog's marker.

    python3 scripts/capture.py            # write it into README.md, between its markers
    python3 scripts/capture.py --check    # exit 1 if the README's has another shape

``--check`` compares what cannot change between runs (the times, counts, port and company
names do): the column header, the marker, and the status line with its digits masked. The
test suite runs it, so the capture cannot go stale as the table changes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
START = (
    "<!-- capture: made by scripts/capture.py from a real `secfeed demo`; do not edit by hand -->"
)
END = "<!-- /capture -->"
WIDTH, HEIGHT = 118, 16
MARKER = "── backlog above · live filings below ──"
#: How long a slow machine may take to show the demo's first live rows.
PATIENCE = 120.0


def capture() -> str:
    """The demo's screen, once three live rows are under the marker."""
    if shutil.which("tmux") is None:
        raise SystemExit("capture.py: needs tmux")
    socket = f"secfeed-capture-{os.getpid()}"
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "COLUMNS", "LINES")}
    env.update(TERM="xterm-256color", NO_COLOR="1")
    demo = f"exec {sys.executable} -m secfeed_cli demo 2>/dev/null"
    tmux = ["tmux", "-L", socket]
    subprocess.run(
        [*tmux, "-f", "/dev/null", "new-session", "-d", "-x", str(WIDTH), "-y", str(HEIGHT)]
        + [demo],
        env=env,
        cwd=ROOT,
        check=True,
    )
    asked = [*tmux, "display-message", "-p", "#{pane_pid} #{pid}"]
    pids = [int(p) for p in subprocess.run(asked, capture_output=True, text=True).stdout.split()]
    try:
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            screen = subprocess.run(
                [*tmux, "capture-pane", "-p"], capture_output=True, text=True, check=True
            ).stdout
            lines = screen.rstrip("\n").splitlines()
            if MARKER in lines and len(lines) - lines.index(MARKER) > 5:
                return "\n".join(line.rstrip() for line in lines)
            time.sleep(0.2)  # a script, not a test: the screen is looked at until it is ready
        raise SystemExit(f"capture.py: no live rows under the marker within {PATIENCE:.0f} s")
    finally:
        # Ctrl-C ends the demo, and with it the session and the server; each is awaited, so
        # nothing this started outlives it.
        subprocess.run([*tmux, "send-keys", "C-c"], capture_output=True)
        for pid in pids:
            if not _ended(pid, PATIENCE / 4):
                subprocess.run([*tmux, "kill-server"], capture_output=True)
                if not _ended(pid, 5):
                    os.kill(pid, 9)


def _ended(pid: int, within: float) -> bool:
    """Whether process ``pid`` (not a child of this one) ends within ``within`` seconds."""
    import select

    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], within)[0])
    finally:
        os.close(fd)


def block(screen: str) -> str:
    return (
        f"{START}\n\n`secfeed demo` in a {WIDTH}×{HEIGHT} terminal (a real `tmux capture-pane`"
        f" by `scripts/capture.py`; colours not shown):\n\n```\n{screen}\n```\n\n{END}"
    )


def shape(text: str) -> list[str]:
    """What must be the same in two captures: the header, the marker, the status line's
    words (digits, the port and latencies masked)."""
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("discovered"))
    status = next(line for line in lines if line.startswith("●"))
    marker = MARKER if MARKER in lines else ""
    return [" ".join(header.split()), marker, re.sub(r"\d+", "9", status)]


def main() -> int:
    text = README.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"capture.py: README.md has no {START!r} ... {END!r}")
    head, rest = text.split(START, 1)
    old, tail = rest.split(END, 1)
    screen = capture()
    if "--check" in sys.argv[1:]:
        ours, fresh = shape(old), shape(screen)
        if ours != fresh:
            print(f"README's capture: {ours}\na fresh one:       {fresh}", file=sys.stderr)
            print("run: python3 scripts/capture.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(head + block(screen) + tail)
    return 0


if __name__ == "__main__":
    sys.exit(main())
