"""The packages import one way: each may import only those below it in :data:`ORDER`.

The test reads every import of every module (at the top and inside functions, absolute and
relative, ``TYPE_CHECKING`` ones too) and fails on one that reaches up, or on a package that is not
placed in the order. ``docs/architecture.md`` states the same order; a test holds the two equal.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "secfeed_cli"

# Bottom first. "" is the package's own __init__ (its version and early signal handling);
# "__main__" only starts the CLI.
ORDER = (
    "",
    "errors",
    "extras",
    "wire",
    "common",
    "feed",
    "details",
    "companies",
    "emulator",
    "filtering",
    "output",
    "archive",
    "alerts",
    "broker",
    "run",
    "ui",
    "cli",
    "__main__",
)


def floor_of(module: str) -> str:
    """``secfeed_cli.feed.stream`` -> ``feed``; ``secfeed_cli.errors`` -> ``errors``."""
    parts = module.split(".")
    if len(parts) == 1:
        return ""
    name = parts[1]
    return name if (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").exists() else ""


def module_name(path: Path) -> tuple[str, bool]:
    """The dotted name of a module file, and whether it is a package's ``__init__``."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def imports(path: Path) -> list[tuple[str, int]]:
    """Every ``secfeed_cli`` module one file imports, with the line, wherever the import is."""
    name, is_package = module_name(path)
    return imports_in(path.read_text(encoding="utf-8"), name, is_package=is_package)


def imports_in(source: str, name: str, *, is_package: bool = False) -> list[tuple[str, int]]:
    """The ``secfeed_cli`` modules a source imports, read as the module ``name``."""
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module or ""
            else:
                here = name.split(".") if is_package else name.split(".")[:-1]
                here = here[: len(here) - (node.level - 1)]
                base = ".".join(here + ([node.module] if node.module else []))
            if node.module is None:
                # `from . import x` imports the module x when there is one.
                found += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
            else:
                found.append((base, node.lineno))
    return [(target, line) for target, line in found if target.split(".")[0] == "secfeed_cli"]


def sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def floors() -> set[str]:
    found = {""}
    for path in sources():
        found.add(floor_of(module_name(path)[0]))
    return found


def test_every_package_and_top_level_module_has_its_place_in_the_order() -> None:
    assert floors() - set(ORDER) == set(), "place the new package in ORDER and the architecture doc"
    assert len(set(ORDER)) == len(ORDER)


def test_no_module_imports_a_package_above_its_own() -> None:
    rank = {name: n for n, name in enumerate(ORDER)}
    upward: list[str] = []
    for path in sources():
        mine = floor_of(module_name(path)[0])
        for target, line in imports(path):
            theirs = floor_of(target)
            if theirs != mine and rank[theirs] > rank[mine]:
                upward.append(
                    f"{path.relative_to(ROOT)}:{line} ({mine}) imports {target} ({theirs})"
                )
    assert upward == []


def test_the_reader_sees_imports_inside_functions_and_of_the_package_itself() -> None:
    """The check above is only as good as :func:`imports`; these are on real modules."""
    layout = {target for target, _ in imports(PACKAGE / "output" / "layout.py")}
    assert "secfeed_cli.details.ownership" in layout  # imported inside a function there
    cli = {target for target, _ in imports(PACKAGE / "cli" / "__init__.py")}
    assert "secfeed_cli.__version__" in cli  # `from .. import __version__`
    assert floor_of("secfeed_cli.__version__") == ""


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from ..run import loop\n", "secfeed_cli.run"),
        ("from ..run.loop import Run\n", "secfeed_cli.run.loop"),
        ("def f():\n    from ..ui.app import X\n", "secfeed_cli.ui.app"),
        ("import secfeed_cli.cli.entry\n", "secfeed_cli.cli.entry"),
        ("from secfeed_cli.broker import relay\n", "secfeed_cli.broker"),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..broker import x\n",
            "secfeed_cli.broker",
        ),
    ],
)
def test_an_upward_import_of_each_form_is_seen(source: str, expected: str) -> None:
    """A module of ``wire`` written with each form of import is caught reaching up."""
    found = imports_in(source, "secfeed_cli.wire.probe")
    assert [target for target, _ in found] == [expected]
    rank = {name: n for n, name in enumerate(ORDER)}
    assert rank[floor_of(expected)] > rank["wire"]


def test_the_architecture_doc_states_the_same_order() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- order -->\n(.*?)\n<!-- /order -->", text, re.S)
    assert match, "docs/architecture.md lost its order block"
    named = re.findall(r"`([a-z_]+)`", match.group(1))
    assert tuple(named) == tuple(name for name in ORDER if name)
