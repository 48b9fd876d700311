"""No process that a test starts outlives the test, whether it passes or fails.

Two means, one for each way a process escapes:

- A process a helper starts (:func:`track`) runs in a process group of its own. When the test
  ends, every tracked process still running has its whole group killed, is waited for and has
  its pipes closed: nothing is left for the garbage collector to warn about in a later test
  (``filterwarnings = error`` would make that warning the later test's failure). A process
  started by hand is found among the children, and its ``Popen`` ended the same way.
- Each pytest process is a child subreaper (Linux's ``PR_SET_CHILD_SUBREAPER``): what a test's
  processes start and leave behind (a browser's helpers, a ui's page apps, a hook's children)
  is re-parented to it, not to init. When the test ends, every child that was not there when
  it began is killed with its group and reaped, until none is left.

What was ended is written to the file named by ``SECFEED_TEST_REAPED`` when it is set (one
line each: the test, the pid, its command), so that a run can be checked for leaks.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36

_tracked: list[subprocess.Popen[bytes]] = []


def become_subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants (Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def track(proc: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
    """End ``proc`` (and its process group, if it leads one) when the test ends."""
    _tracked.append(proc)
    return proc


def children() -> set[int]:
    """This process's children, running or not yet reaped."""
    found: set[int] = set()
    with contextlib.suppress(OSError):
        for task in os.listdir("/proc/self/task"):
            with contextlib.suppress(OSError):
                text = Path(f"/proc/self/task/{task}/children").read_text()
                found.update(int(pid) for pid in text.split())
    return found


def _command(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return raw.replace(b"\0", b" ").decode("utf-8", "replace").strip()[:200] or "(exited)"


def _kill(pid: int) -> None:
    """SIGKILL ``pid``'s process group if it leads one, and ``pid`` itself."""
    with contextlib.suppress(OSError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)


def end_all(before: set[int], test: str) -> list[str]:
    """End what the test started: tracked processes first, then every new child, level by
    level (a killed process's own children are re-parented here and seen on the next pass).
    Returns a line for each process that was still running."""
    ended: list[str] = []
    new = children() - before
    if new:  # a process started without a helper: its Popen, if one is alive, is ended too
        import gc

        found = (obj for obj in gc.get_objects() if issubclass(type(obj), subprocess.Popen))
        _tracked.extend(p for p in found if p.pid in new and p not in _tracked)
    while _tracked:
        proc = _tracked.pop()
        if proc.poll() is None:
            ended.append(f"{test}\t{proc.pid}\t{_command(proc.pid)}")
            _kill(proc.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=60)  # SIGKILL: a bound, never reached
        else:  # its group may outlive it (a child it left behind): end that too
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
    for _ in range(100):  # a bound on the depth of a process tree
        new = children() - before
        if not new:
            break
        for pid in new:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                state = "?"
            if state != "Z":
                ended.append(f"{test}\t{pid}\t{_command(pid)}")
                _kill(pid)
        for pid in new:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
    if ended and os.environ.get("SECFEED_TEST_REAPED"):
        with open(os.environ["SECFEED_TEST_REAPED"], "a") as log:
            log.writelines(line + "\n" for line in ended)
    return ended


@contextlib.contextmanager
def every_process_ends(test: str) -> Iterator[None]:
    before = children()
    try:
        yield
    finally:
        end_all(before, test)
