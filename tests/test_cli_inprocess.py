"""The CLI in-process through its I/O seam: usage errors, config precedence, format choice.

click's CliRunner runs the real commands with an ``Environment`` whose stdout is a buffer (see
``environment.py``): what used to take a subprocess each now takes milliseconds. Pipes,
signals and the terminal stay end-to-end (test_tail.py, test_faults.py, test_table_tmux.py).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from secfeed_cli.cli import cli
from secfeed_cli.emulator.server import Emulator
from secfeed_cli.run.environment import Environment

from .conftest import ndjson, secfeed

Factory = Callable[..., Emulator]


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[Result, bytes]:
    out = io.BytesIO()
    clean = {"XDG_CONFIG_HOME": "/nonexistent", "SECFEED_FORMAT": None, "FINFEED_API_KEY": None}
    result = CliRunner().invoke(
        cli,
        list(args),
        obj=Environment(stdout=out, stdout_isatty=False),
        env={**clean, **(env or {})},
        catch_exceptions=False,
    )
    return result, out.getvalue()


def kind(out: bytes) -> str:
    text = out.decode()
    if text.startswith("accession_no,"):
        return "csv"
    if text.startswith("discovered"):
        return "table"
    ndjson(out)
    return "ndjson"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--url", "http://example.com"], "is not a ws:// or wss:// URL"),
        (["--url", "ws://127.0.0.1:99999"], "its port is not 0-65535"),
        (["--url", "ws://127.0.0.1:1", "--form", "8-K;rm"], "is not a form pattern"),
        (["--url", "ws://127.0.0.1:1", "--form", ","], "names no form"),
        (["--url", "ws://127.0.0.1:1", "--cik", "12x"], "not a CIK"),
        (["--url", "ws://127.0.0.1:1", "--cik", "0000"], "not a CIK (SEC's numbers start at 1)"),
        (["--url", "ws://127.0.0.1:1", "--count", "-1"], "-1"),
        (["--url", "wss://api.sec.finfeedapi.com"], "FINFEED_API_KEY"),
        (["--url", "ws://127.0.0.1:1", "-f", "csv", "--raw"], "--raw goes with NDJSON"),
        (["--url", "ws://127.0.0.1:1", "--backlog-only", "--no-backlog"], "exclude each other"),
        (["--url", "ws://127.0.0.1:1", "--api-key", "a\r\nX: 1"], "the API key contains a CR"),
    ],
)
def test_usage_errors_exit_2_with_one_clear_line(args: list[str], message: str) -> None:
    result, out = invoke("tail", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert out == b""


def test_precedence_flag_env_config_default(emulator_factory: Factory, tmp_path: Path) -> None:
    em = emulator_factory(backlog=2)
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'url = "{em.url}"\nformat = "csv"\n')
    cfg.chmod(0o600)
    base = ["tail", "--backlog-only", "-q"]
    result, out = invoke(*base, "--url", em.url)
    assert result.exit_code == 0 and kind(out) == "ndjson"  # default: auto, not a terminal
    result, out = invoke(*base, "--config", str(cfg))
    assert result.exit_code == 0 and kind(out) == "csv"  # the config file, URL included
    result, out = invoke(*base, "--config", str(cfg), env={"SECFEED_FORMAT": "table"})
    assert kind(out) == "table"  # the environment beats the config file
    result, out = invoke(
        *base, "--config", str(cfg), "-f", "ndjson", env={"SECFEED_FORMAT": "table"}
    )
    assert kind(out) == "ndjson"  # a flag beats the environment


def test_config_found_in_xdg_config_home_and_by_env(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    em = emulator_factory(backlog=2)
    (tmp_path / "secfeed").mkdir()
    (tmp_path / "secfeed" / "config.toml").write_text(f'url = "{em.url}"\nformat = "csv"\n')
    result, out = invoke("tail", "--backlog-only", env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert result.exit_code == 0, result.stderr
    assert kind(out) == "csv"
    other = tmp_path / "other.toml"
    other.write_text(f'url = "{em.url}"\nform = ["8-K", "4"]\n')
    result, out = invoke("tail", "--backlog-only", env={"SECFEED_CONFIG": str(other)})
    assert result.exit_code == 0, result.stderr
    assert {r["form"] for r in ndjson(out)} <= {"8-K", "4", "8-K/A", "4/A"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('colour = "red"\n', "unknown key 'colour'"),
        ('max-retries = "three"\n', "key 'max-retries' must be int"),
        ("heartbeat = 1\n", "key 'heartbeat' must be bool"),
        ("form = [8]\n", "key 'form' must be str"),
        ("url = [\n", "is not valid TOML"),
        ('format = "xml"\n', "key 'format': 'xml' is not one of"),
        ("count = -1\n", "key 'count': -1 is not in the range"),
        ("[tail]\nskip-empty = true\n", "[tail] key 'skip-empty': secfeed tail has no such option"),
        ("[tial]\n", "unknown table [tial] (known: tail, snapshot, demo, relay, ui)"),
        ('[snapshot]\nquiet = "yes"\n', "[snapshot] key 'quiet' must be bool"),
    ],
)
def test_bad_config_is_a_usage_error_naming_file_and_key(
    tmp_path: Path, text: str, message: str
) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(text)
    result, _ = invoke("tail", "--config", str(cfg), "--url", "ws://127.0.0.1:9")
    assert result.exit_code == 2
    assert str(cfg) in result.stderr and message in result.stderr
    assert "env var" not in result.stderr  # the file is to blame, not SECFEED_FORMAT


def test_config_tables_per_command(emulator_factory: Factory, tmp_path: Path) -> None:
    em = emulator_factory(backlog=4)
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'url = "{em.url}"\ncount = 2\nquiet = true\n'
        '[tail]\nformat = "csv"\nbacklog-only = true\n'
        f'[snapshot]\nformat = "json"\noutput = "{tmp_path / "snap.json"}"\n'
        "quiet = false\nverbose = true\n"
    )
    result, out = invoke("tail", "--config", str(cfg))
    assert result.exit_code == 0, result.stderr
    assert kind(out) == "csv" and len(out.splitlines()) == 1 + 2  # [tail], and count at the top
    assert result.stderr == ""  # quiet, at the top
    result, out = invoke("snapshot", "--config", str(cfg))
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "snap.json").read_bytes().count(b'"accession_no"') == 4  # no count here
    assert "wrote 4 filings" in result.stderr  # [snapshot]: quiet = false beats the top


def test_snapshot_writes_through_the_environment(emulator_factory: Factory) -> None:
    em = emulator_factory(backlog=4)
    result, out = invoke("snapshot", "--url", em.url, "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert out.startswith(b"[\n") and out.count(b'"accession_no"') == 4


def test_a_user_agent_without_an_email_says_so() -> None:
    result, _ = invoke("tickers", "update", "--user-agent", "UX", "--source", "http://127.0.0.1:9/")
    assert result.exit_code == 2
    assert "--user-agent 'UX' has no email address" in result.stderr


def test_help_lists_each_command_once_and_snapshot_its_own_exit_zero() -> None:
    result, _ = invoke("--help")
    assert result.exit_code == 0
    assert result.output.count("secfeed tail ") == 1 and "Commands:" not in result.output
    result, _ = invoke("snapshot", "--help")
    assert "0    the snapshot was written" in result.output
    assert "--count, --duration, --backlog-only" not in result.output


def test_a_bad_value_names_the_variable_only_when_it_came_from_there() -> None:
    result, _ = invoke("tail", "--url", "http://x")
    assert result.exit_code == 2
    assert "Invalid value for '--url': the URL" in result.stderr
    result, _ = invoke("tail", env={"SECFEED_URL": "http://x"})
    assert result.exit_code == 2
    assert "Invalid value for '--url' (env var: 'SECFEED_URL'): the URL" in result.stderr


def test_serve_rate_and_speed_exclude_each_other() -> None:
    result, _ = invoke("serve", "--rate", "1", "--speed", "2")
    assert result.exit_code == 2
    assert "--rate and --speed exclude each other" in result.stderr


def test_colour_is_the_environments_to_decide(emulator_factory: Factory) -> None:
    """The live table in colour or not, as the command's Environment says (NO_COLOR and
    FORCE_COLOR decide through it for a real terminal): no terminal needed to check it."""
    em = emulator_factory(backlog=5)
    args = ("tail", "--url", em.url, "--backlog-only", "-f", "table")
    coloured = secfeed(*args, terminal=True, color=True)
    plain = secfeed(*args, terminal=True, color=False)
    assert coloured.returncode == plain.returncode == 0
    assert b"\x1b[1;4mdiscovered" in coloured.stdout  # the header, bold and underlined
    assert b"\x1b[1;4m" not in plain.stdout and b"\x1b[2m" not in plain.stdout
    assert plain.stdout.count(b"\n") == coloured.stdout.count(b"\n")
