"""``--exec CMD``: a shell command per filing, with the filing on stdin and in the environment.

A fixed pool of ``--exec-jobs`` worker threads takes (filing, command) jobs from one bounded
list, in filing order; with one worker the hooks run one at a time in that order.

A hook is its process group (``start_new_session``): the command and everything it starts.
Its stdout and stderr are a pipe of secfeed's own, read line by line and printed as secfeed's
warnings are (above the live table's status line), so nothing a hook leaves behind holds the
user's ``2>&1 | ...`` pipeline open. A hook is over when its command has exited and its output
is closed; whatever it started that is still in its group is then killed. After
``--exec-timeout``, or once the run's exit grace is over, the whole group is killed. The
command's process is watched through a pidfd and reaped only after the group was killed, so the
group's id cannot have been reused by then.

What a hook receives from a filing is made safe for a terminal: ``SECFEED_*`` values have
control characters shown as escapes (``\\x1b``), as secfeed shows them, and are cut to
:data:`ENV_MAX` characters; the NDJSON line on stdin is exact.
"""

from __future__ import annotations

import errno
import os
import select
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import IO

import msgspec

from ..common.escape import escape_control
from ..filtering.grep import first_match
from ..output.encode import record_line
from ..output.records import text_fields
from ..wire.filing import Filing

#: Jobs waiting for a worker; beyond this, new filings' hooks are dropped (and counted).
QUEUE = 10_000
#: Not passed to hooks (a hook has no use for the key; the user's shell may have exported it).
SECRET_VARIABLES = ("FINFEED_API_KEY",)
#: The longest ``SECFEED_*`` value, in characters (Linux refuses one string over 128 KiB).
ENV_MAX = 8192
#: The longest line of a hook's output shown as one line; longer ones are cut.
LINE_MAX = 4096
#: After the group is killed at exit, how long the workers get to see it and count it.
SETTLE = 0.5


def _safe(value: str) -> str:
    text = escape_control(value)
    return text if len(text) <= ENV_MAX else text[: ENV_MAX - 1] + "…"


def environment(filing: Filing) -> dict[str, str]:
    """The process environment plus the filing's fields as ``SECFEED_*`` variables."""
    env = {k: v for k, v in os.environ.items() if k not in SECRET_VARIABLES}
    fields = {name.upper(): text for name, text in text_fields(filing).items()}
    cells = filing.details_cells
    if cells is not None:  # --details: the full object is on stdin
        fields["DETAILS_STATUS"], fields["DETAILS_SUMMARY"] = cells
    match = first_match(filing)
    if match is not None:  # --grep: every match is on stdin
        fields["MATCH"] = match
    env.update({f"SECFEED_{k}": _safe(v) for k, v in fields.items()})
    return env


class Counts(msgspec.Struct):
    ran: int = 0  # started and ended by themselves (failed ones included)
    failed: int = 0  # of those, a non-zero exit or a signal
    not_started: int = 0  # the command could not be started at all
    timed_out: int = 0  # killed at --exec-timeout
    dropped: int = 0  # the queue was full
    not_run: int = 0  # still queued when the run ended
    killed: int = 0  # still running when the run ended


class ExecHooks:
    def __init__(
        self,
        commands: tuple[str, ...],
        jobs: int,
        timeout: float,
        warn: Callable[[str], None],
        echo: Callable[[str], None],
        queue_size: int = QUEUE,
    ) -> None:
        self.commands = commands
        self.timeout = timeout
        self.warn = warn
        self.echo = echo  # a line of a hook's output
        self.queue_size = queue_size
        self.counts = Counts()
        self.lock = threading.Condition()
        self.jobs: deque[tuple[Filing, str]] = deque()
        self.running: dict[int, subprocess.Popen[bytes]] = {}  # pid -> process, not reaped
        self.killed_at_exit: set[int] = set()  # pids of hooks the end of the run killed
        self.closing = False
        self.deadline = float("inf")  # set by close(): then nothing new starts
        self.workers = [
            threading.Thread(target=self._work, name=f"exec-{i}", daemon=True) for i in range(jobs)
        ]
        self._warned_full = False
        for worker in self.workers:
            worker.start()

    def deliver(self, filings: list[Filing]) -> None:
        with self.lock:
            for filing in filings:
                for command in self.commands:
                    if len(self.jobs) < self.queue_size:
                        self.jobs.append((filing, command))
                    else:
                        self.counts.dropped += 1
            self.lock.notify_all()
            full = self.counts.dropped > 0 and not self._warned_full
            self._warned_full = self._warned_full or full
        if full:
            self.warn(
                f"--exec: {self.queue_size} hooks are waiting; hooks of newer filings are"
                " dropped (and counted) until they catch up, so that the feed itself never"
                " waits: raise --exec-jobs, or make the hook faster"
            )

    def _work(self) -> None:
        while True:
            with self.lock:
                while not self.jobs and not self.closing:
                    self.lock.wait()
                if not self.jobs or time.monotonic() >= self.deadline:
                    return
                job = self.jobs.popleft()
            try:
                self._run(*job)
            except Exception as exc:  # a worker never dies: the hook is counted, said, and the
                self._not_started(job[0], exc)  # next one runs

    def _run(self, filing: Filing, command: str) -> None:
        line = record_line(filing, None)
        try:
            read_end, write_end = os.pipe()
        except OSError as exc:  # out of file descriptors
            self._not_started(filing, exc)
            return
        try:
            proc = subprocess.Popen(
                command,
                shell=True,
                stdin=subprocess.PIPE,
                stdout=write_end,  # our own pipe: stdout carries data only, and nothing a
                stderr=write_end,  # hook leaves behind can hold secfeed's stderr open
                env=environment(filing),
                start_new_session=True,  # its own process group, killed as one
            )
        except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the command
            os.close(read_end)
            self._not_started(filing, exc)
            return
        finally:
            os.close(write_end)
        with self.lock:
            self.running[proc.pid] = proc
        timed_out = self._watch(proc, line, read_end, time.monotonic() + self.timeout)
        with self.lock:
            # The command's process is not reaped yet, so the group's id is still ours: what
            # the hook left running is killed, and only then is the process reaped.
            _kill_group(proc.pid)
            self.running.pop(proc.pid, None)
        code = proc.wait()
        self._count(filing, command, code, timed_out, proc.pid)

    def _not_started(self, filing: Filing, exc: Exception) -> None:
        with self.lock:
            self.counts.not_started += 1
        reason = getattr(exc, "strerror", None) or str(exc)
        self.warn(f"--exec could not start the hook for {filing.accession_no}: {reason}")

    def _watch(self, proc: subprocess.Popen[bytes], line: bytes, out: int, until: float) -> bool:
        """Feed the hook its line, show its output, until its command has exited and its
        output is closed, or ``until``; whether the time ran out (the group is killed then)."""
        stdin = proc.stdin
        assert stdin is not None
        pending = memoryview(line)
        os.set_blocking(stdin.fileno(), False)
        exited = _ExitWatch(proc.pid)
        buffer = b""
        out_open = True
        try:
            while out_open or not exited.done():
                wait = min(until, self.deadline) - time.monotonic()
                if wait <= 0:
                    _kill_group(proc.pid)
                    if time.monotonic() >= until:
                        return True
                    with self.lock:
                        self.killed_at_exit.add(proc.pid)
                    return False
                readers = [out] if out_open else []
                if exited.fd is not None and not exited.done():  # ready for good once exited
                    readers.append(exited.fd)
                writers = [stdin] if pending else []
                ready_r, ready_w, _ = select.select(readers, writers, [], exited.slice(wait))
                if ready_w:
                    pending = _write_some(stdin, pending)
                if out in ready_r:
                    chunk = os.read(out, 65536)
                    if not chunk:
                        out_open = False
                    buffer = self._lines(buffer + chunk, final=not chunk)
                if not pending and not stdin.closed:
                    _close_quietly(stdin)
            return False
        finally:
            exited.close()
            _close_quietly(stdin)
            os.close(out)
            if buffer:
                self._lines(buffer, final=True)

    def _lines(self, data: bytes, final: bool) -> bytes:
        """Show each whole line of ``data`` (and the rest when ``final``); what is left."""
        *lines, rest = data.split(b"\n")
        if final and rest:
            lines.append(rest)
            rest = b""
        while len(rest) > LINE_MAX:  # a line without end is shown in pieces
            lines.append(rest[:LINE_MAX])
            rest = rest[LINE_MAX:]
        for text in lines:
            self.echo(text[:LINE_MAX].decode("utf-8", "replace"))
        return rest

    def _count(self, filing: Filing, command: str, code: int, timed_out: bool, pid: int) -> None:
        with self.lock:
            if timed_out:
                self.counts.timed_out += 1
            elif pid in self.killed_at_exit:
                self.killed_at_exit.discard(pid)
                self.counts.killed += 1  # killed at the end of the run
                return
            else:
                self.counts.ran += 1
                self.counts.failed += code != 0
        if timed_out:
            self.warn(
                f"--exec hook for {filing.accession_no} killed after {self.timeout:g} s"
                f" (--exec-timeout), with what it started: {command}"
            )
        elif code:
            status = f"signal {-code}" if code < 0 else f"exit {code}"
            if code == 127:
                status += ": command not found"
            self.warn(f"--exec hook failed ({status}) for {filing.accession_no}: {command}")

    def close(self, grace: float) -> None:
        """The run ends: queued hooks still start and running ones finish for up to
        ``grace`` seconds; then each hook's process group is killed and the rest is not run.
        Returns within ``grace`` plus a fraction of a second, however many workers there are."""
        with self.lock:
            self.closing = True
            self.deadline = time.monotonic() + grace
            self.lock.notify_all()
        for worker in self.workers:
            worker.join(max(0.0, self.deadline - time.monotonic()))
        with self.lock:
            self.counts.not_run += len(self.jobs)
            self.jobs.clear()
            for pid in self.running:  # not reaped yet: the ids are still theirs
                _kill_group(pid)
                self.killed_at_exit.add(pid)
        settle = time.monotonic() + SETTLE
        for worker in self.workers:
            worker.join(max(0.0, settle - time.monotonic()))
        with self.lock:
            killed = self.counts.killed + len(self.running)  # a worker not back yet counts too
        if killed:
            self.warn(f"--exec: {killed} hooks still running at exit were killed")

    def summaries(self) -> list[str]:
        c = self.counts
        with self.lock:
            killed = c.killed + len(self.running)
        text = f"hooks: {c.ran} ran ({c.failed} failed), {c.timed_out} timed out"
        if c.not_started:
            text += f", {c.not_started} could not start"
        if c.dropped:
            text += f", {c.dropped} dropped (queue full)"
        if killed:
            text += f", {killed} killed at exit"
        if c.not_run:
            text += f", {c.not_run} not run (exit)"
        return [text]


class _ExitWatch:
    """Whether a child has exited, without reaping it: a pidfd that reads as ready once it
    has; where there is none (Linux before 5.3), ``waitid`` with WNOWAIT, looked at often."""

    POLL = 0.05

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.fd: int | None
        try:
            self.fd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self.fd = None
        self._done = False

    def done(self) -> bool:
        if not self._done:
            try:
                found = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:  # reaped already: it has exited
                self._done = True
            else:
                self._done = found is not None
        return self._done

    def slice(self, wait: float) -> float:
        return wait if self.fd is not None else min(wait, self.POLL)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _write_some(stdin: IO[bytes], pending: memoryview) -> memoryview:
    try:
        return pending[os.write(stdin.fileno(), pending) :]
    except BlockingIOError:
        return pending
    except OSError:  # it closed its stdin (EPIPE): it does not want the line
        return pending[:0]


def _close_quietly(stream: IO[bytes]) -> None:
    try:
        stream.close()
    except OSError:  # a broken pipe as it closes: the hook did not read its stdin
        pass


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError as exc:  # gone already (ESRCH), or not ours to kill
        if exc.errno not in (errno.ESRCH, errno.EPERM):
            raise
