"""How the process ends: ``cli.entry`` skips the interpreter's teardown, never what it owes.

Each run is the real console-script path (``cli.entry``) in a subprocess, under ``python -c``
code that adds what the interpreter must still do at exit: an exit function, a thread to wait
for, an object whose finalizer shows whether the teardown ran.
"""

from __future__ import annotations

from pathlib import Path

from secfeed_cli import __version__

from .conftest import secfeed_code

#: An object in __main__ that says so when the teardown finalizes it.
TORN = (
    "import sys\n"
    "class Torn:\n"
    "    def __del__(self):\n"
    "        sys.stderr.write('torn down\\n')\n"
    "torn = Torn()\n"
)
ENTRY = "from secfeed_cli.cli import entry; entry()\n"


def test_a_run_ends_without_the_teardown_and_with_its_exit_status() -> None:
    res = secfeed_code(TORN + ENTRY, "--version")
    assert res.returncode == 0
    assert __version__ in res.stdout.decode()
    assert b"torn down" not in res.stderr
    # A usage error keeps its documented status and its message.
    res = secfeed_code(TORN + ENTRY, "tail", "--no-such-option")
    assert res.returncode == 2
    assert b"No such option" in res.stderr
    assert b"torn down" not in res.stderr


def test_buffered_output_is_flushed_before_the_process_ends(tmp_path: Path) -> None:
    # Without PYTHONUNBUFFERED, text to a file waits in sys.stdout's buffer (click.echo
    # flushes its own; this was written before), and stderr holds a line until its end.
    code = TORN + "sys.stdout.write('written before\\n'); sys.stderr.write('no line end')\n" + ENTRY
    out = tmp_path / "out"
    with out.open("wb") as fh:
        res = secfeed_code(code, "tail", "--no-such-option", stdout=fh, buffered=True)
    assert res.returncode == 2
    assert out.read_text() == "written before\n"
    assert res.stderr.startswith(b"no line end")
    assert b"torn down" not in res.stderr


def test_exit_functions_still_run_and_then_the_exit_is_the_usual_one() -> None:
    code = (
        TORN
        + "import atexit\n"
        + "atexit.register(lambda: sys.stderr.write('exit function ran\\n'))\n"
        + ENTRY
    )
    res = secfeed_code(code, "tail", "--no-such-option")
    assert res.returncode == 2
    assert b"exit function ran" in res.stderr
    assert b"torn down" in res.stderr


def test_a_thread_the_interpreter_waits_for_is_waited_for() -> None:
    # The thread finishes only once the main thread has ended: the interpreter's usual exit
    # waits for it; an exit that skipped it would end the process first.
    code = (
        "import sys, threading\n"
        "def work():\n"
        "    threading.main_thread().join()\n"
        "    sys.stderr.write('thread finished\\n')\n"
        "threading.Thread(target=work).start()\n" + ENTRY
    )
    res = secfeed_code(code, "--version")
    assert res.returncode == 0
    assert res.stderr.decode().endswith("thread finished\n")
