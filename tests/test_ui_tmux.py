"""The real ``secfeed ui`` in a real terminal: tmux runs it, send-keys types, capture-pane reads
the screen; and what the command says when it cannot run (no terminal, no Textual)."""

from __future__ import annotations

import os
import re
import shlex
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from secfeed_cli.emulator.server import Emulator

from .conftest import ROOT, secfeed
from .test_table_tmux import Pane

Factory = Callable[..., Emulator]
ACCESSION = re.compile(r"\d{10}-\d\d-\d{6}")


@pytest.fixture
def ui_pane(tmp_path: Path) -> Iterator[Callable[..., Pane]]:
    panes: list[Pane] = []

    def make(args: str, width: int = 120, height: int = 30, env: str = "") -> Pane:
        # Textual draws through stderr: it stays the terminal (stdout could go anywhere).
        # A cache of the test's own: EDGAR documents kept by other runs are not in it.
        cache = shlex.quote(str(tmp_path / "cache"))
        cmd = f"{env} XDG_CACHE_HOME={cache} {shlex.quote(sys.executable)} -m secfeed_cli {args}"
        pane = Pane(tmp_path, f"cd {shlex.quote(str(ROOT))} && {cmd}", width=width, height=height)
        panes.append(pane)
        return pane

    yield make
    for pane in panes:
        pane.kill()


def test_ui_starts_filters_pauses_quits_and_gives_the_terminal_back(
    emulator_factory: Factory, ui_pane: Callable[..., Pane]
) -> None:
    em = emulator_factory(backlog=200)
    pane = ui_pane(f"ui --url {em.url}")
    screen = pane.wait_for(lambda s: "backlog complete: 200 filings" in s)
    assert "LIVE" in screen and len(ACCESSION.findall(screen)) >= 20
    # All at once, as a fast typist or a paste sends them: each key must reach the widget
    # the key before it gave the focus to (the filter after "/", the list after Enter).
    pane.keys("/", "8", "-", "K", "Enter", "Space")

    def only_8k(screen: str) -> bool:
        rows = [line for line in screen.splitlines() if ACCESSION.search(line)]
        return "filter 8-K" in screen and bool(rows) and all(" 8-K " in r for r in rows)

    pane.wait_for(lambda s: only_8k(s) and "PAUSED +0 new" in s)  # drawn in pieces: all, in the end
    pane.keys("q")
    assert pane.exit_code() == 0
    # The alternate screen is left and the cursor shown: the shell's screen is back, empty.
    screen = pane.screen(escapes=True)
    assert "PAUSED" not in screen and not ACCESSION.search(screen)
    assert b"\x1b[?1049l" in pane.raw or b"\x1b[?1049l" in pane.wait_for_output(b"\x1b[?1049l")


def test_demo_ui_runs_on_the_emulator_and_sigterm_ends_it_with_143(
    ui_pane: Callable[..., Pane],
) -> None:
    pane = ui_pane("demo --ui --rate 5")
    pane.wait_for(lambda s: "backlog complete" in s and "LIVE" in s)
    shell = pane._tmux("list-panes", "-F", "#{pane_pid}").strip()
    # The pane runs a shell; its child is secfeed.
    for child in Path(f"/proc/{shell}/task/{shell}/children").read_text().split():
        os.kill(int(child), signal.SIGTERM)
    assert pane.exit_code() == 143
    assert "LIVE" not in pane.screen()


def _ui_pid(pane: Pane) -> int:
    """The pane runs a shell; its child is secfeed."""
    shell = pane._tmux("list-panes", "-F", "#{pane_pid}").strip()
    (child,) = Path(f"/proc/{shell}/task/{shell}/children").read_text().split()
    return int(child)


@pytest.mark.parametrize("when", ["starting", "running"])
@pytest.mark.parametrize("command", ["ui --url {url}", "demo --ui --rate 5"])
def test_a_ui_whose_terminal_is_closed_ends(
    emulator_factory: Factory, ui_pane: Callable[..., Pane], command: str, when: str
) -> None:
    """tmux kill-session closes the terminal under a ui, as it starts (its driver has just
    taken the screen) or once it runs: the ui (one that reconnects for ever, and the demo's)
    ends, instead of spinning on a terminal that is gone."""
    import select

    from .patience import WAIT

    em = emulator_factory(backlog=20)
    pane = ui_pane(command.format(url=em.url))
    if when == "starting":
        pane.wait_for_output(b"\x1b[?1049h")  # the alternate screen: the driver is starting
    else:
        pane.wait_for(lambda s: "backlog complete" in s and "LIVE" in s)
    ui = os.pidfd_open(_ui_pid(pane))
    try:
        pane._tmux("kill-session")  # the terminal goes; nothing is sent to the ui itself
        assert select.select([ui], [], [], WAIT)[0], "the ui outlived its terminal"
    finally:
        os.close(ui)


@pytest.mark.unit
def test_the_watchdog_ends_a_process_whose_quit_never_happens() -> None:
    """A quit that was asked (a signal) and does not happen ends the process after GRACE."""
    import threading

    from secfeed_cli.ui import watch
    from secfeed_cli.ui.watch import Watchdog

    from .patience import WAIT

    exited: list[int] = []
    done = threading.Event()

    def exit_now(code: int) -> None:
        exited.append(code)
        done.set()

    dog = Watchdog(lambda code: None, parent=os.getppid(), watch_stdin=False, exit_now=exit_now)
    dog.start().arm(143)
    assert done.wait(WAIT) and exited == [143]
    assert watch.GRACE <= 2.0
    # Stopped (the app ended by itself), it ends nothing.
    quiet = Watchdog(lambda code: None, parent=os.getppid(), watch_stdin=False, exit_now=exit_now)
    quiet.start().stop()
    quiet._thread.join(WAIT)
    assert exited == [143]


@pytest.mark.unit
def test_the_watchdog_sees_a_parent_that_is_not_the_one_that_started_it() -> None:
    import threading

    from secfeed_cli.ui.watch import Watchdog

    from .patience import WAIT

    asked: list[int] = []
    quit_asked = threading.Event()

    def quit(code: int) -> None:
        asked.append(code)
        quit_asked.set()

    dog = Watchdog(
        quit, parent=os.getppid() + 1_000_000, watch_stdin=False, exit_now=lambda c: None
    )
    dog.start()
    assert quit_asked.wait(WAIT) and asked == [129] and dog.reason == "its parent ended"
    dog.stop()


def test_ui_says_when_it_has_no_terminal() -> None:
    res = secfeed("ui", "--url", "ws://127.0.0.1:9")
    assert res.returncode == 2
    assert b"secfeed ui draws on a terminal" in res.stderr and b"Traceback" not in res.stderr


def test_ui_without_textual_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "textual", None)  # import textual fails, as uninstalled
    res = secfeed("ui", "--url", "ws://127.0.0.1:9")
    assert res.returncode == 2
    assert (
        b"pip install 'secfeed-cli[ui]' (from a clone: pip install -e '.[ui]'; under pipx:"
        b" pipx inject secfeed-cli textual textual-serve)" in res.stderr
    )


def test_a_rejected_key_ends_the_ui_with_exit_3_and_one_line(
    emulator_factory: Factory, ui_pane: Callable[..., Pane]
) -> None:
    em = emulator_factory(api_key="right-key")
    pane = ui_pane(f"ui --url {em.url} --api-key wrong-key --no-reconnect")
    assert pane.exit_code() == 3
    lines = [line for line in pane.screen().splitlines() if line.strip()]
    assert lines == ["secfeed: error: the server rejected the API key: Invalid API key"]


def test_enter_asks_edgar_on_demand_with_a_user_agent_and_shows_the_budget(
    emulator_factory: Factory, ui_pane: Callable[..., Pane]
) -> None:
    em = emulator_factory(edgar=True, backlog=20)
    edgar = em.url.replace("ws://", "http://", 1)
    pane = ui_pane(
        f"ui --url {em.url} --edgar-url {edgar} --user-agent 'secfeed tests t@localhost'",
        height=40,
    )
    pane.wait_for(lambda s: "backlog complete" in s and "EDGAR 0 req" in s)
    pane.keys("/", *"draftkings", "Enter", "Enter")
    screen = pane.wait_for(lambda s: "summary S " in s and "EDGAR 1 req" in s)
    assert "owned after" in screen
    pane.keys("q")
    assert pane.exit_code() == 0


def test_ui_from_an_archive_shows_what_it_holds(
    emulator: Emulator, ui_pane: Callable[..., Pane], tmp_path: Path
) -> None:
    db = tmp_path / "filings.db"
    res = secfeed("tail", "--url", emulator.url, "--backlog-only", "--archive", str(db))
    assert res.returncode == 0, res.stderr
    held = len(res.stdout.splitlines())
    pane = ui_pane(f"ui --from {db} --backlog-only")
    screen = pane.wait_for(lambda s: "the feed ended" in s)
    assert f"{held} rows" in screen
    pane.keys("q")
    assert pane.exit_code() == 0


def test_o_opens_the_page_with_the_browser_and_y_copies_the_url_by_osc_52(
    emulator_factory: Factory, ui_pane: Callable[..., Pane], tmp_path: Path
) -> None:
    em = emulator_factory(backlog=20)
    opened = tmp_path / "opened"
    os.mkfifo(opened)
    # The browser, as Python's webbrowser finds it: BROWSER, the URL in place of %s.
    browser = shlex.quote(f"/bin/sh -c 'echo \"$1\" > {opened}' sh %s")
    pane = ui_pane(f"ui --url {em.url}", env=f"BROWSER={browser}")
    screen = pane.wait_for(lambda s: "backlog complete: 20 filings" in s)
    newest = ACCESSION.findall(screen)[-1]
    cik = int(re.findall(rf"(\d+)  {newest}", screen)[0])
    url = (
        f"https://www.sec.gov/Archives/edgar/data/{cik}/{newest.replace('-', '')}/"
        f"{newest}-index.htm"
    )
    reader = os.open(opened, os.O_RDONLY | os.O_NONBLOCK)
    try:
        pane.keys("o")
        import select

        assert select.select([reader], [], [], 20)[0], "no browser was started"
        assert os.read(reader, 4096).decode().strip() == url
    finally:
        os.close(reader)
    pane.keys("y")
    import base64

    pane.wait_for_output(b"\x1b]52;c;" + base64.b64encode(url.encode()))
    pane.keys("q")
    assert pane.exit_code() == 0


def test_the_config_files_ui_table_sets_the_buffer(
    emulator_factory: Factory, ui_pane: Callable[..., Pane], tmp_path: Path
) -> None:
    em = emulator_factory(backlog=300)
    config = tmp_path / "config.toml"
    config.write_text(f'url = "{em.url}"\n\n[ui]\nbuffer = 100\n')
    pane = ui_pane(f"ui --config {config}")
    screen = pane.wait_for(lambda s: "backlog complete: 300 filings" in s)
    assert "100 rows" in screen  # the newest 100 of 300 kept
    pane.keys("q")
    assert pane.exit_code() == 0


def test_ui_archive_keeps_every_filing_received(
    emulator_factory: Factory, ui_pane: Callable[..., Pane], tmp_path: Path
) -> None:
    import sqlite3

    em = emulator_factory(backlog=50)
    db = tmp_path / "ui.db"
    pane = ui_pane(f"ui --url {em.url} --archive {db} --form 8-K")
    pane.wait_for(lambda s: "backlog complete: 50 filings" in s)
    pane.keys("q")
    assert pane.exit_code() == 0  # the archive is closed (written) before the exit
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from filings").fetchone() == (50,)  # all, not 8-Ks
