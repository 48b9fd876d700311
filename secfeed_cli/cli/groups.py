"""How an option group reaches its command: as one typed object, built from its own options.

Each group (``connection_options``, ``filter_options``, ...) is a list of click options and a
builder; the command gets ``name=build(**values)`` in place of the options' loose values. The
builder's parameters are the options' names, no more and no fewer (``tests/test_options.py``
checks each group), so an option can be followed to its use by reading: ``--form`` ->
``_filters(forms=...)`` -> ``FilingFilter.forms``.

A builder that finds something to warn of returns :class:`Built`: its object and its warnings,
which join the command's Environment (said when the run starts). A builder that reads a
secret adds it to the command's secrets (:func:`environment`), before anything can echo it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import click

if TYPE_CHECKING:
    from ..run.environment import Environment

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


class Built(Generic[T]):
    """What a builder made, and what it warns of."""

    __slots__ = ("value", "warnings")

    def __init__(self, value: T, warnings: list[str] | tuple[str, ...] = ()) -> None:
        self.value = value
        self.warnings = tuple(warnings)


def environment() -> Environment:
    """The running command's Environment: a test's (click's context object), else one made
    for it and kept there, so that every part of the command finds the same one."""
    from ..run.environment import Environment

    return click.get_current_context().ensure_object(Environment)


#: Every group made: its name, its options' names, its builder (for the test of the wiring).
GROUPS: list[tuple[str, tuple[str, ...], Callable[..., Any]]] = []


def apply_all(options: list[Callable[[F], F]]) -> Callable[[F], F]:
    """Apply click option decorators in the order listed (the first is the first in --help)."""

    def decorator(f: F) -> F:
        for option in reversed(options):
            f = option(f)
        return f

    return decorator


def names_of(options: list[Callable[[F], F]]) -> tuple[str, ...]:
    """The values these options hand a command (those with ``expose_value``), by name."""

    def probe() -> None:
        """Stands in for a command, to collect the options' parameters."""

    apply_all(options)(probe)  # type: ignore[arg-type]
    params = getattr(probe, "__click_params__", [])
    return tuple(p.name for p in reversed(params) if p.expose_value and p.name)


def option_group(
    name: str, build: Callable[..., Any], options: list[Callable[[F], F]]
) -> Callable[[F], F]:
    """The ``options``, and the command's ``name=build(**their values)`` in place of them."""
    takes = names_of(options)
    GROUPS.append((name, takes, build))

    def decorator(f: F) -> F:
        @functools.wraps(f)
        def wrapper(**values: Any) -> Any:
            mine = {key: values.pop(key) for key in takes}
            made = build(**mine)
            if isinstance(made, Built):
                environment().warnings.extend(made.warnings)
                made = made.value
            values[name] = made
            return f(**values)

        wrapped: F = apply_all(options)(wrapper)  # type: ignore[arg-type]
        return wrapped

    return decorator
