"""The optional extras and how to install one: the words of every "needs ..." error. Pure.

The distribution is ``secfeed-cli`` on PyPI (``secfeed`` there is another project); the command
is ``secfeed`` and the import package ``secfeed_cli``.
"""

from __future__ import annotations

#: The name to ``pip install``.
DISTRIBUTION = "secfeed-cli"
#: Each extra and the packages it brings (what ``pipx inject`` needs named).
EXTRAS: dict[str, tuple[str, ...]] = {
    "ui": ("textual", "textual-serve"),
    "nats": ("nats-py", "nkeys"),
    "notify": ("apprise",),
    "text": ("inscriptis",),
}


def install_hint(extra: str) -> str:
    """How to add ``extra``: to an install from PyPI, to one from a clone, and under pipx."""
    packages = " ".join(EXTRAS[extra])
    return (
        f"pip install '{DISTRIBUTION}[{extra}]' (from a clone: pip install -e '.[{extra}]';"
        f" under pipx: pipx inject {DISTRIBUTION} {packages})"
    )
