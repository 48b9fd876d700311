"""`secfeed ui` where users feel it: key-to-screen under a firehose, and memory over time.

The real command in a real pseudo-terminal (120x40) against one emulator process sending live
filings at --rate a second. A thread reads everything the ui draws; a key is written to the
terminal, and its time is until the screen shows its effect (text after the key was sent, with
the terminal's escape sequences taken out): space -> "PAUSED", space -> "LIVE", "/" -> the
filter bar, "4" -> "filter 4", Esc -> no filter in the status bar. The same keys are timed
with a quiet feed (--rate 0.5): the ratio says what the firehose costs. Memory: the ui's
resident set, each second. Filings taken in: the status bar's "N shown" at the end, a second.

    .venv/bin/python bench/ui.py [--rate 2000] [--seconds 60] [--buffer 100000]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import signal
import statistics
import struct
import sys
import termios
import threading
import time
from pathlib import Path
from typing import NamedTuple

from run import start_emulator  # bench/run.py

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: cursor, colours, modes
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC: title, clipboard
    r"|\x1b[PX^_][^\x1b]*\x1b\\"  # DCS and the other strings
    r"|\x1b[@-Z\\-_]"  # two-byte sequences
)
#: What the reader keeps of the text drawn (characters; a screenful is a few thousand).
KEEP = 256 * 1024
#: (key bytes, what the screen shows once the key took effect, a name)
KEYS: tuple[tuple[bytes, str | re.Pattern[str], str], ...] = (
    (b" ", "PAUSED", "space (pause)"),
    (b" ", "LIVE", "space (resume)"),
    (b"/", "Enter keeps it", "/ (filter bar)"),
    (b"4", "filter 4", "4 (filter as typed)"),
    # No filter: "N rows │" (with one, "N rows of M │ filter 4"); "? keys" alone would match
    # a frame drawn before the key was read.
    (b"\x1b", re.compile(r"\d rows │"), "Esc (clear)"),
)


class Terminal:
    """``secfeed ui`` in a pseudo-terminal; everything it draws is kept, as text."""

    def __init__(self, args: list[str], width: int = 120, height: int = 40) -> None:
        pid, fd = os.forkpty()
        if pid == 0:  # the child: the ui
            os.chdir(ROOT)
            env = {k: v for k, v in os.environ.items() if not k.startswith("SECFEED_")}
            env["TERM"] = "xterm-256color"
            os.execve(PY, [PY, "-m", "secfeed_cli", "ui", *args], env)
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
        self.raw = ""  # what was drawn lately: the text from position ``base`` on
        self.base = 0
        self.lock = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        import codecs

        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        while True:
            try:
                data = os.read(self.fd, 1 << 16)
            except OSError:
                data = b""
            with self.lock:
                if not data:
                    self.raw += "\x00END"
                    self.lock.notify_all()
                    return
                self.raw += decoder.decode(data)
                if len(self.raw) > KEEP * 4:  # kept short: a growing string made each read
                    drop = len(self.raw) - KEEP  # slower, and the measurements with it
                    self.raw = self.raw[drop:]
                    self.base += drop
                self.lock.notify_all()

    def wait(self, text: str | re.Pattern[str], since: int, timeout: float = 30.0) -> float:
        """Wait until ``text`` is drawn after position ``since``; the time it appeared."""
        deadline = time.perf_counter() + timeout
        with self.lock:
            while True:
                plain = ESCAPES.sub("", self.raw[max(0, since - self.base) :])
                if text.search(plain) if isinstance(text, re.Pattern) else text in plain:
                    return time.perf_counter()
                if "\x00END" in self.raw[max(0, since - self.base) :]:
                    raise SystemExit(f"bench: the ui ended while waiting for {text!r}")
                left = deadline - time.perf_counter()
                if left <= 0:
                    raise SystemExit(f"bench: {text!r} never drawn")
                self.lock.wait(left)

    def key(self, data: bytes, shows: str | re.Pattern[str]) -> float:
        """Seconds from writing ``data`` to the screen showing ``shows``."""
        with self.lock:
            since = self.base + len(self.raw)
        start = time.perf_counter()
        os.write(self.fd, data)
        return self.wait(shows, since) - start

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def rss_mb(self) -> float:
        with open(f"/proc/{self.pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def shown(self) -> int:
        with self.lock:
            found = re.findall(r"(\d+) shown", ESCAPES.sub("", self.raw[-KEEP:]))
        return int(found[-1]) if found else 0

    def close(self) -> int:
        os.write(self.fd, b"q")
        _, status = os.waitpid(self.pid, 0)
        return os.waitstatus_to_exitcode(status)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Session(NamedTuple):
    times: dict[str, list[float]]  # seconds from a key to its effect on the screen, by key
    memory: list[tuple[float, float, float, float]]  # (second, RSS MB, ui CPU %, emulator CPU %)
    shown: int  # filings the ui took in
    elapsed: float
    code: int  # the ui's exit status after q


def session(rate: float, seconds: float, buffer: int) -> Session:
    """One ui run: keys timed round after round while the feed flows, RSS each second."""
    emulator, url = start_emulator("--rate", str(rate))
    term = Terminal(["--url", url, "--buffer", str(buffer)])
    try:
        term.wait("backlog complete", 0)
        start = time.perf_counter()
        times: dict[str, list[float]] = {name: [] for _, _, name in KEYS}
        memory: list[tuple[float, float, float, float]] = []
        next_sample = start
        cpu = (start, term.cpu_seconds(), cpu_seconds(emulator.pid))
        while (now := time.perf_counter()) - start < seconds:
            if now >= next_sample:
                used = (now, term.cpu_seconds(), cpu_seconds(emulator.pid))
                span = max(used[0] - cpu[0], 1e-9)
                ui_cpu, em_cpu = ((used[i] - cpu[i]) / span * 100 for i in (1, 2))
                memory.append((now - start, term.rss_mb(), ui_cpu, em_cpu))
                cpu = used
                next_sample += 1.0
            for data, shows, name in KEYS:
                times[name].append(term.key(data, shows))
            time.sleep(0.2)  # a person's pace between rounds, not a synchronisation
        shown = term.shown()
        elapsed = time.perf_counter() - start
        code = term.close()
    finally:
        emulator.send_signal(signal.SIGTERM)
        emulator.wait()
    return Session(times, memory, shown, elapsed, code)


def ms(values: list[float]) -> str:
    v = sorted(x * 1000 for x in values)
    p95 = v[min(len(v) - 1, int(0.95 * len(v)))]
    return f"{v[0]:.0f} / {statistics.median(v):.0f} / {p95:.0f} / {v[-1]:.0f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rate", type=float, default=2000.0)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--buffer", type=int, default=100_000)
    args = ap.parse_args()
    quiet = session(0.5, min(args.seconds, 20.0), args.buffer)
    busy = session(args.rate, args.seconds, args.buffer)
    print(
        f"# secfeed ui: {args.rate:g} filings/s for {args.seconds:g} s (--buffer {args.buffer})\n"
    )
    rate = busy.shown / busy.elapsed
    print(f"filings taken in: {busy.shown} in {busy.elapsed:.0f} s = {rate:.0f}/s")
    print(f"(exit {busy.code})\n")
    print("| key | quiet feed: min / median / p95 / max ms | firehose: the same | median ratio |")
    print("| --- | --- | --- | --- |")
    for _, _, name in KEYS:
        q, b = quiet.times[name], busy.times[name]
        ratio = statistics.median(b) / statistics.median(q)
        print(f"| {name} | {ms(q)} | {ms(b)} | {ratio:.2f}x |")
    every = [t for values in busy.times.values() for t in values]
    over = sum(t >= 0.1 for t in every)
    # Textual waits before it takes a lone Esc (a terminal's Esc starts other keys too): about
    # 110 ms even with a quiet feed. The other keys are counted on their own too.
    rest = [t for name, values in busy.times.items() if not name.startswith("Esc") for t in values]
    print(
        f"\nkeys but Esc under the firehose: {ms(rest)} ms ({len(rest)} keys);"
        f" {sum(t >= 0.1 for t in rest)} at or over 100 ms"
    )
    print(
        f"all keys under the firehose: {ms(every)} ms ({len(every)} keys);"
        f" {over} at or over 100 ms\n"
    )
    print("| second | ui RSS MB | ui CPU % | emulator CPU % |")
    print("| --- | --- | --- | --- |")
    for sample in busy.memory:
        at, rss, ui_cpu, em_cpu = sample
        if int(at) % 10 == 0 or sample == busy.memory[-1]:
            print(f"| {at:.0f} | {rss:.1f} | {ui_cpu:.0f} | {em_cpu:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
