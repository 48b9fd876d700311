"""The suite's own promise: a test that fails leaves no process running, and its leftovers
cannot become another test's failure (tests/processes.py). A pytest of its own runs a test
that starts processes and fails on purpose, then a test that passes; afterwards nothing the
first one started is still running."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT, cli_env
from .patience import WAIT

INNER = """
import os
import subprocess
import sys

from tests.conftest import secfeed_popen


def test_fails_with_processes_running():
    pids = open(os.environ["PIDS"], "w")
    # The real CLI, which would serve for ever (a helper's process, in its own group)...
    server = secfeed_popen("serve", "--port", "0", "--rate", "0", "--backlog", "1")
    assert server.stdout is not None and server.stdout.readline().startswith(b"ws://")
    pids.write(f"{server.pid}\\n")
    # ...a process a test started by hand and never ended, its pipe open...
    stray = subprocess.Popen(["sleep", "600"], stdout=subprocess.PIPE)
    pids.write(f"{stray.pid}\\n")
    # ...and an orphan: its parent gone, re-parented to the pytest process.
    orphan = subprocess.run(
        ["sh", "-c", "sleep 600 >/dev/null 2>&1 & echo $!"], capture_output=True, check=True
    )
    pids.write(orphan.stdout.decode())
    pids.close()
    raise AssertionError("failing on purpose")


def test_the_next_test_is_not_failed_by_the_last_ones_leftovers():
    import gc

    gc.collect()  # a Popen left behind would warn here, as an error (filterwarnings)
"""


def _running(pid: int) -> bool:
    """Whether ``pid`` is a process that has not ended (a zombie has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_a_failing_test_leaves_no_process_behind(tmp_path: Path) -> None:
    test = tmp_path / "test_inner.py"
    test.write_text(INNER)
    pids = tmp_path / "pids"
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "-n", "0"]
        + ["-p", "no:cacheprovider", "-p", "tests.conftest", "-q", str(test)],
        capture_output=True,
        timeout=2 * WAIT,
        cwd=ROOT,
        env=cli_env(PIDS=str(pids)),
    )
    said = res.stdout.decode() + res.stderr.decode()
    assert res.returncode == 1, said
    assert "1 failed, 1 passed" in said, said
    assert "failing on purpose" in said
    started = [int(line) for line in pids.read_text().split()]
    assert len(started) == 3
    try:
        assert [pid for pid in started if _running(pid)] == [], said
    finally:
        for pid in started:  # only if the above failed: this test must not leak either
            with contextlib.suppress(OSError):
                if _running(pid):
                    os.kill(pid, 9)
