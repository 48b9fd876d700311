"""Docs that cannot drift: the man page, the README and docs/, shell completion."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import click
import pytest

from secfeed_cli.cli import cli
from secfeed_cli.emulator.server import Emulator

from .conftest import ROOT, cli_env

MAN = ROOT / "man" / "secfeed.1"
README = (ROOT / "README.md").read_text()
#: The README and every page of docs/: the documentation an option must be in.
DOCS = README + "".join(p.read_text() for p in sorted((ROOT / "docs").glob("*.md")))


def all_options() -> list[tuple[str, str]]:
    found = []
    for name, command in cli.commands.items():
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                for opt in [*param.opts, *param.secondary_opts]:
                    found.append((name, opt))
    return found


def test_man_page_is_generated_from_the_current_options() -> None:
    res = subprocess.run(
        [sys.executable, "scripts/make_man.py", "--check"], cwd=ROOT, capture_output=True
    )
    assert res.returncode == 0, res.stderr.decode()


@pytest.mark.parametrize(("command", "option"), all_options())
def test_every_option_is_in_the_man_page_and_readme(command: str, option: str) -> None:
    roff = option.replace("-", "\\-")
    assert roff in MAN.read_text(), f"{command} {option} missing from man/secfeed.1"
    in_code = rf"`[^`\n]*(?<![\w-]){re.escape(option)}(?![\w-])[^`\n]*`"
    assert re.search(in_code, DOCS), f"{command} {option} missing from README and docs/"


def test_every_command_is_in_the_readme() -> None:
    for name in cli.commands:
        assert f"secfeed {name}" in README


def test_man_page_is_lint_clean() -> None:
    if shutil.which("mandoc"):
        res = subprocess.run(
            ["mandoc", "-T", "lint", "-W", "warning", str(MAN)], capture_output=True
        )
    elif shutil.which("groff") and not os.environ.get("SECFEED_REQUIRE_MANDOC"):
        res = subprocess.run(["groff", "-ww", "-z", "-man", str(MAN)], capture_output=True)
    else:
        pytest.fail("neither mandoc nor groff is installed") if os.environ.get(
            "SECFEED_REQUIRE_MANDOC"
        ) else pytest.skip("no mandoc or groff")
    assert res.returncode == 0 and not res.stdout and not res.stderr, res.stdout + res.stderr


def test_man_page_renders() -> None:
    if not shutil.which("man"):
        pytest.skip("man is not installed")
    res = subprocess.run(
        ["man", "-l", str(MAN)],
        capture_output=True,
        env={**os.environ, "MANPAGER": "cat", "MANWIDTH": "80"},
    )
    text = res.stdout.decode()
    assert res.returncode == 0
    for heading in (
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OUTPUT",
        "EXIT STATUS",
        "ENVIRONMENT",
        "FILES",
        "EXAMPLES",
        "SEE ALSO",
    ):
        assert heading in text


def _complete(words: str, shell: str = "bash", cword: int | None = None) -> list[str]:
    if cword is None:
        cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    env = cli_env(_SECFEED_COMPLETE=f"{shell}_complete", COMP_WORDS=words, COMP_CWORD=str(cword))
    res = subprocess.run(
        [sys.executable, "-c", "from secfeed_cli.cli import main; main()"],
        capture_output=True,
        env=env,
        cwd=ROOT,
    )
    return [line.split(",", 1)[1] for line in res.stdout.decode().splitlines() if "," in line]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(shell: str) -> None:
    env = cli_env(_SECFEED_COMPLETE=f"{shell}_source")
    res = subprocess.run(
        [sys.executable, "-c", "from secfeed_cli.cli import main; main()"],
        capture_output=True,
        env=env,
        cwd=ROOT,
    )
    assert res.returncode == 0
    assert "_SECFEED_COMPLETE" in res.stdout.decode()


def test_completion_of_options_formats_and_forms() -> None:
    assert {"--form", "--format"} <= set(_complete("secfeed tail --for"))
    assert set(_complete("secfeed tail -f ")) == {"auto", "table", "ndjson", "csv"}
    forms = _complete("secfeed tail --form 10-")
    assert "10-K" in forms and "10-Q" in forms and all(f.startswith("10-") for f in forms)
    # bash inserts a completion as it is: a form with a space comes back quoted.
    assert "'SCHEDULE 13D/A'" in _complete("secfeed tail --form sched")
    # A quote opened by the user: bash passes the word with it; it is the fourth word.
    assert "'SCHEDULE 13G'" in _complete("secfeed tail --form 'SCHEDULE 13", cword=3)
    # After a comma, the last item is completed and the list kept.
    after_comma = _complete("secfeed tail --form 8-K,10-")
    assert "8-K,10-K" in after_comma and "8-K,10-Q" in after_comma
    assert all(f.startswith("8-K,10-") for f in after_comma)
    assert "'8-K,DEF 14A'" in _complete("secfeed tail --form 8-K,def")
    # Forms EDGAR renamed are not offered.
    assert not any("SC 13G" in f for f in _complete("secfeed tail --form sc"))


EXAMPLE_PORT = "8765"


def readme_examples() -> list[str]:
    """Shell lines in docs/ that use only secfeed against the emulator on port 8765 (the
    README's own examples are run in a terminal by test_readme.py)."""
    blocks = re.findall(r"```sh\n(.*?)```", DOCS, re.S)
    lines = [ln.split("  #")[0].strip() for b in blocks for ln in b.splitlines()]
    return [
        ln
        for ln in lines
        if ln.startswith("secfeed ")
        and f"127.0.0.1:{EXAMPLE_PORT}" in ln
        and "|" not in ln
        and not ln.endswith("&")
    ]


def test_readme_has_runnable_examples() -> None:
    assert len(readme_examples()) >= 3


@pytest.mark.parametrize("line", readme_examples())
def test_readme_example_runs(
    line: str, emulator_factory: Callable[..., Emulator], tmp_path: Path
) -> None:
    em = emulator_factory(backlog=50, rate=20)
    args = shlex.split(line.replace(f"127.0.0.1:{EXAMPLE_PORT}", f"127.0.0.1:{em.port}"))
    redirect = None
    if ">" in args:
        at = args.index(">")
        redirect, args = tmp_path / args[at + 1], args[:at]
    with open(redirect, "wb") if redirect else open(os.devnull, "wb") as out:
        res = subprocess.run(
            [sys.executable, "-m", "secfeed_cli", *args[1:]],
            stdout=out,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
            timeout=60,
            env=cli_env(),
        )
    assert res.returncode == 0, (line, res.stderr.decode())


def test_version_is_the_installed_package_version() -> None:
    # One source (secfeed_cli/__init__.py, read by the build); --version needs no metadata.
    from importlib.metadata import version

    res = subprocess.run(
        [sys.executable, "-m", "secfeed_cli", "--version"],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=ROOT,
        check=True,
    )
    assert res.stdout == f"secfeed, version {version('secfeed-cli')}\n"


def test_ticker_completes_from_secs_map_biggest_first() -> None:
    found = _complete("secfeed tail --ticker AAP")
    assert found and found[0] == "AAPL", found
    assert all(t.startswith("AAP") for t in found)
    after_comma = _complete("secfeed tail --ticker MSFT,NVD")
    assert after_comma and after_comma[0] == "MSFT,NVDA", after_comma
    assert len(_complete("secfeed tail --ticker ")) == 200  # bounded
    described = subprocess.run(
        [sys.executable, "-c", "from secfeed_cli.cli import main; main()"],
        capture_output=True,
        env=cli_env(
            _SECFEED_COMPLETE="zsh_complete",
            COMP_WORDS="secfeed tail --ticker AAPL",
            COMP_CWORD="3",
        ),
        cwd=ROOT,
    ).stdout.decode()
    assert "Apple Inc." in described, described


def test_the_distribution_is_secfeed_cli_and_every_hint_names_it() -> None:
    """PyPI's "secfeed" is another project: ours is secfeed-cli, the command secfeed."""
    import importlib.metadata

    from secfeed_cli.extras import DISTRIBUTION, EXTRAS, install_hint

    text = (ROOT / "pyproject.toml").read_text()
    assert f'name = "{DISTRIBUTION}"' in text and DISTRIBUTION == "secfeed-cli"
    installed = importlib.metadata.distribution(DISTRIBUTION)
    assert [e.name for e in installed.entry_points if e.group == "console_scripts"] == ["secfeed"]
    for extra in EXTRAS:
        assert "[project.optional-dependencies]" in text and f"\n{extra} = [" in text
        hint = install_hint(extra)
        assert f"pip install 'secfeed-cli[{extra}]'" in hint and f"-e '.[{extra}]'" in hint
    readme = (ROOT / "README.md").read_text()
    assert "secfeed[" not in readme and "secfeed[" not in (ROOT / "man" / "secfeed.1").read_text()


def test_help_groups_the_options_with_filters_and_output_first() -> None:
    """59 options in one list put --form 13th: now headings, examples first, --form near the
    top; every command's exit statuses include the archive's 7, the ui's only its own."""
    from .conftest import secfeed

    tail = secfeed("tail", "--help").stdout.decode()
    lines = tail.splitlines()
    headings = [line for line in lines if line and not line.startswith(" ") and ":" in line]
    assert headings[:4] == ["Usage: secfeed tail [OPTIONS]", "Examples:", "Filters:", "Output:"]
    assert "Connection:" in headings and headings.index("Filters:") < headings.index("Connection:")
    assert next(i for i, line in enumerate(lines) if line.lstrip().startswith("--form")) < 40
    for command in ("tail", "snapshot", "relay", "demo", "ui"):
        text = secfeed(command, "--help").stdout.decode()
        assert "Filters:" in text and "Examples:" in text, command
        assert "\n    7    the archive" in text or "\n  7    the archive" in text, command
    ui = secfeed("ui", "--help").stdout.decode()
    assert "--state lock" not in ui and "pipe closed" not in ui and "    0    quit (q)" in ui
    man = (ROOT / "man" / "secfeed.1").read_text()
    assert ".SS secfeed archive query" in man and "\\fB7\\fR" in man


def test_the_readme_is_short_with_contents_and_every_page_is_linked() -> None:
    """1,062 lines without contents: now a short path in, and one page a topic in docs/."""
    lines = README.splitlines()
    assert len(lines) < 400, len(lines)
    headings = [line[3:] for line in lines if line.startswith("## ")]
    contents = README.split("## Contents", 1)[1].split("\n## ", 1)[0]
    for heading in headings[1:]:
        anchor = re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")
        assert f"(#{anchor})" in contents, heading
    index = (ROOT / "docs" / "README.md").read_text()
    for page in (ROOT / "docs").glob("*.md"):
        if page.name != "README.md":
            assert f"]({page.name})" in index, page.name


def test_every_relative_link_in_the_docs_leads_to_a_file() -> None:
    for page in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), (page.name, target)
