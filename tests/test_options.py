"""The option wiring: each group's builder takes exactly its own options' values."""

from __future__ import annotations

import inspect

import pytest

import secfeed_cli.cli  # noqa: F401 - makes every command, and so every group
from secfeed_cli.cli.groups import GROUPS

pytestmark = pytest.mark.unit


def test_every_group_is_wired() -> None:
    assert {name for name, _, _ in GROUPS} == {
        "connection",
        "filters",
        "output",
        "run",
        "alerts",
        "source",
        "nats",
        "details",
    }


@pytest.mark.parametrize(("name", "takes", "build"), GROUPS, ids=[g[0] for g in GROUPS])
def test_a_group_hands_its_builder_exactly_its_options(
    name: str, takes: tuple[str, ...], build: object
) -> None:
    wanted = set(inspect.signature(build).parameters)  # type: ignore[arg-type]
    assert set(takes) <= wanted, f"{name}: options the builder does not take"
    optional = {
        p
        for p, param in inspect.signature(build).parameters.items()  # type: ignore[arg-type]
        if param.default is not inspect.Parameter.empty
    }
    assert wanted - set(takes) <= optional, f"{name}: builder values no option gives"
