"""``--exec CMD``: a shell command per filing, with the filing on stdin and in the environment.

A fixed pool of ``--exec-jobs`` worker threads takes (filing, command) jobs from one bounded
queue, in filing order; with one worker the hooks run one at a time in that order. Each hook
runs in its own process group, so ``--exec-timeout`` (and the end of the run) kills the command
and everything it started. Its stdout and stderr go to secfeed's stderr: stdout is data only.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable

import msgspec

from ..companies import who
from ..filing import Filing
from ..sinks.lines import record_line

#: Jobs waiting for a worker; beyond this, new filings' hooks are dropped (and counted).
QUEUE = 10_000
#: Not passed to hooks (a hook has no use for the key; the user's shell may have exported it).
SECRET_VARIABLES = ("FINFEED_API_KEY",)


def environment(filing: Filing) -> dict[str, str]:
    """The process environment plus the filing's fields as ``SECFEED_*`` variables."""
    env = {k: v for k, v in os.environ.items() if k not in SECRET_VARIABLES}
    company, ticker = who(filing)
    fields = {
        "ACCESSION_NO": filing.accession_no,
        "FORM": filing.form,
        "CIK": str(filing.cik),
        "COMPANY": company or "",
        "TICKER": ticker or "",
        "DESCRIPTION": filing.description,
        "FILING_DATE": filing.filing_date,
        "ACCEPTED_TIME": filing.accepted_time,
        "DISCOVERED_TIME": filing.discovered_time,
        "IS_HISTORICAL": "true" if filing.is_historical else "false",
        "URL": filing.url,
    }
    env.update({f"SECFEED_{k}": v.replace("\0", "") for k, v in fields.items()})
    return env


class Counts(msgspec.Struct):
    ran: int = 0
    failed: int = 0
    timed_out: int = 0
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
        queue_size: int = QUEUE,
    ) -> None:
        self.commands = commands
        self.timeout = timeout
        self.warn = warn
        self.counts = Counts()
        self.lock = threading.Lock()
        self.jobs: queue.Queue[tuple[Filing, str] | None] = queue.Queue(queue_size)
        self.running: dict[int, subprocess.Popen[bytes]] = {}  # pid -> process
        self.stopping = threading.Event()
        self.deadline = float("inf")  # set by close()
        self.workers = [
            threading.Thread(target=self._work, name=f"exec-{i}", daemon=True) for i in range(jobs)
        ]
        self._warned_full = False
        for worker in self.workers:
            worker.start()

    def deliver(self, filings: list[Filing]) -> None:
        for filing in filings:
            for command in self.commands:
                try:
                    self.jobs.put_nowait((filing, command))
                except queue.Full:
                    with self.lock:
                        self.counts.dropped += 1
                    if not self._warned_full:
                        self._warned_full = True
                        self.warn(
                            f"--exec: {self.jobs.maxsize} hooks are waiting; hooks of newer"
                            " filings are dropped (and counted) until they catch up, so that"
                            " the feed itself never waits: raise --exec-jobs, or make the"
                            " hook faster"
                        )

    def _work(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            if self.stopping.is_set() or time.monotonic() > self.deadline:
                with self.lock:
                    self.counts.not_run += 1
                continue
            self._run(*job)

    def _run(self, filing: Filing, command: str) -> None:
        line = record_line(filing, None)
        try:
            proc = subprocess.Popen(
                command,
                shell=True,
                stdin=subprocess.PIPE,
                stdout=2,  # secfeed's stderr: stdout carries data only
                stderr=2,
                env=environment(filing),
                start_new_session=True,  # its own process group, killed as one
            )
        except OSError as exc:
            with self.lock:
                self.counts.failed += 1
            self.warn(f"--exec could not start {command!r}: {exc.strerror}")
            return
        with self.lock:
            self.running[proc.pid] = proc
        try:
            try:
                proc.communicate(line, timeout=self.timeout)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                proc.wait()
                with self.lock:
                    self.counts.timed_out += 1
                self.warn(
                    f"--exec hook for {filing.accession_no} killed after {self.timeout:g} s"
                    f" (--exec-timeout): {command}"
                )
                return
            except (BrokenPipeError, OSError):  # it did not read its stdin: fine
                proc.wait()
        finally:
            with self.lock:
                self.running.pop(proc.pid, None)
        if self.stopping.is_set() and proc.returncode is not None and proc.returncode < 0:
            return  # killed at the end of the run: counted there
        with self.lock:
            self.counts.ran += 1
            if proc.returncode != 0:
                self.counts.failed += 1
        if proc.returncode != 0:
            status = (
                f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit {proc.returncode}"
            )
            self.warn(f"--exec hook failed ({status}) for {filing.accession_no}: {command}")

    def close(self, grace: float) -> None:
        """The run ends: queued hooks still start and running ones finish for up to
        ``grace`` seconds; then what runs is killed (process group) and the rest is not run."""
        self.deadline = time.monotonic() + grace
        for _ in self.workers:  # after the queued jobs: each worker stops at one
            try:
                self.jobs.put(None, timeout=max(0.0, self.deadline - time.monotonic()))
            except queue.Full:
                break
        for worker in self.workers:
            worker.join(max(0.0, self.deadline - time.monotonic()))
        self.stopping.set()
        with self.lock:
            left = list(self.running.values())
        for proc in left:
            _kill_group(proc)
        while True:  # what no worker reached
            try:
                job = self.jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                self.counts.not_run += 1
        for worker in self.workers:
            worker.join(1.0)
        if left:
            with self.lock:
                self.counts.killed += len(left)
            self.warn(f"--exec: {len(left)} hooks still running at exit were killed")

    def summary(self) -> str:
        c = self.counts
        text = f"hooks: {c.ran} ran, {c.failed} failed, {c.timed_out} timed out"
        if c.dropped:
            text += f", {c.dropped} dropped (queue full)"
        if c.killed:
            text += f", {c.killed} killed at exit"
        if c.not_run:
            text += f", {c.not_run} not run (exit)"
        return text


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
