"""Where the tests find real EDGAR documents: tests/data/edgar/, and the eight the emulator
bundles (secfeed_cli/emulator/edgar/), kept once."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).parent / "data" / "edgar"
BUNDLED = Path(__file__).parent.parent / "secfeed_cli" / "emulator" / "edgar"
GOLDEN = TESTS / "golden"


def document(name: str) -> Path:
    """The path of the real document ``name``, wherever it is kept."""
    here = TESTS / name
    return here if here.exists() else BUNDLED / name


def samples() -> list[str]:
    """Every filing document (not SEC's pages), by name."""
    names = {p.name for folder in (TESTS, BUNDLED) for p in folder.iterdir()}
    return sorted(n for n in names if n.startswith(("form", "8k", "sc13")))
