"""Shared fixtures: the emulator on 127.0.0.1 (port 0), the CLI in-process and in subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple

import pytest

from secfeed_cli.emulator.runner import EmulatorThread
from secfeed_cli.emulator.server import Emulator, EmulatorConfig

from .patience import WAIT
from .processes import become_subreaper, children, end_all, every_process_ends, track

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    """Each pytest process (each xdist worker) adopts what its tests' processes leave."""
    become_subreaper()


@pytest.fixture(autouse=True)
def _every_process_ends(request: pytest.FixtureRequest) -> Iterator[None]:
    """Whatever the outcome, no process the test started outlives it (tests/processes.py).
    Autouse and first: its end runs after every other fixture of the test has ended."""
    with every_process_ends(request.node.nodeid):
        yield


@pytest.fixture(autouse=True, scope="session")
def _every_process_ends_with_the_session() -> Iterator[None]:
    before = children()
    yield
    end_all(before, "session")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test not marked ``unit`` is end-to-end: ``pytest -m unit`` is the fast loop."""
    for item in items:
        if item.get_closest_marker("unit") is None:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def emulator_factory() -> Iterator[Callable[..., Emulator]]:
    """Start emulators with given config fields; all are stopped at the end of the test."""
    running: list[EmulatorThread] = []

    def start(**fields: Any) -> Emulator:
        fields.setdefault("rate", 0)  # a static feed unless a test asks for live filings
        # The backlog of a --backlog-only run is complete at the first heartbeat: 0.1 s of
        # silence instead of the service's 1 s keeps the suite quick.
        fields.setdefault("heartbeat_interval", 0.1)
        runner = EmulatorThread(EmulatorConfig(host="127.0.0.1", port=0, **fields))
        running.append(runner)
        return runner.start()

    yield start
    for runner in running:
        runner.stop()


@pytest.fixture
def emulator(emulator_factory: Callable[..., Emulator]) -> Emulator:
    return emulator_factory()


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECFEED_", "FINFEED_"))}
    env.update({"PYTHONUNBUFFERED": "1", "NO_COLOR": "1", "COLUMNS": "200"})
    env.update(extra)
    return env


class Ran(NamedTuple):
    """A command run in-process: as a finished subprocess looks."""

    returncode: int
    stdout: bytes
    stderr: bytes


#: What a test gets back from a run, in-process or not.
Result = Ran | subprocess.CompletedProcess[bytes]


def secfeed(
    *args: str,
    timeout: float = 30,
    env: dict[str, str] | None = None,
    stdin: Any = subprocess.DEVNULL,
    terminal: bool = False,
    color: bool | None = None,
) -> Ran:
    """Run the CLI to completion in this process, through its seam (``Environment``): stdout a
    buffer (not a terminal), stderr captured, the environment variables ``env`` (else
    :func:`cli_env`) for the run only. Milliseconds instead of a new interpreter; what needs
    a process (pipes, signals, a terminal, the interpreter's exit) uses
    :func:`secfeed_process`. ``timeout`` is pytest-timeout's (a run cannot be killed here)."""
    import io
    import signal
    import warnings

    from click.testing import CliRunner

    from secfeed_cli.cli import main
    from secfeed_cli.companies import tickers
    from secfeed_cli.run.environment import Environment

    assert stdin is subprocess.DEVNULL, "stdin for in-process runs: use secfeed_process"
    wanted = env or cli_env()
    overrides: dict[str, str | None] = {k: None for k in os.environ if k not in wanted}
    overrides.update(wanted)
    out = io.BytesIO()
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    tickers.forget()  # the map as this run's environment (XDG_CACHE_HOME) has it
    code = 0
    try:
        # As in a process of its own: warnings of libraries (apprise imports imghdr) are not
        # the errors pytest's filterwarnings makes of them.
        with CliRunner().isolation(env=overrides) as streams, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                seam = Environment(stdout=out, stdout_isatty=terminal, color=color)
                main(list(args), seam)
            except SystemExit as done:
                code = done.code if isinstance(done.code, int) else 0
            printed, said = streams[0].getvalue(), streams[1].getvalue()
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        tickers.forget()
    return Ran(code, out.getvalue() + printed, said)


def secfeed_process(
    *args: str,
    timeout: float = 2 * WAIT,
    env: dict[str, str] | None = None,
    stdin: Any = subprocess.DEVNULL,
) -> subprocess.CompletedProcess[bytes]:
    """Run the real CLI to completion (bounded by ``timeout``), stdout piped (not a terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "secfeed_cli", *args],
        capture_output=True,
        timeout=timeout,
        env=env or cli_env(),
        stdin=stdin,
        cwd=ROOT,
    )


def secfeed_code(
    code: str,
    *args: str,
    timeout: float = 2 * WAIT,
    stdout: int | IO[bytes] = subprocess.PIPE,
    buffered: bool = False,
) -> subprocess.CompletedProcess[bytes]:
    """Run the CLI under ``python -c code`` (code that calls ``secfeed_cli.cli.main`` or
    ``entry``), for a run with something about the interpreter changed: a module made missing,
    a check at exit. ``buffered``: stdout and stderr as a user's shell gives them, without
    PYTHONUNBUFFERED (block-buffered to a file)."""
    env = cli_env()
    if buffered:
        del env["PYTHONUNBUFFERED"]
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )


#: The CLI with a module made impossible to import (an optional extra not installed).
WITHOUT = "import sys; sys.modules[{!r}] = None\nfrom secfeed_cli.cli import main; main()"


def secfeed_popen(
    *args: str, env: dict[str, str] | None = None, **kw: Any
) -> subprocess.Popen[bytes]:
    """Start the real CLI, in a process group of its own that ends with the test."""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    kw.setdefault("stdin", subprocess.DEVNULL)
    proc = subprocess.Popen(
        [sys.executable, "-m", "secfeed_cli", *args],
        env=env or cli_env(),
        cwd=ROOT,
        start_new_session=True,
        **kw,
    )
    return track(proc)


def ndjson(out: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.decode().splitlines()]


def accessions(records: list[dict[str, Any]]) -> list[str]:
    return [r["accession_no"] for r in records]
