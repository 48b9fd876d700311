"""The output schema's generated encoders, pinned: the code that writes every NDJSON line and
CSV row is in tests/data/generated/, readable and reviewed like any other code. A change to the
schema (records.FIELDS) or to how it is written shows up here as a diff."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest

from secfeed_cli.output.encode import SOURCES, _ndjson_lines
from secfeed_cli.wire.filing import Filing

pytestmark = pytest.mark.unit

GENERATED = Path(__file__).parent / "data" / "generated"


@pytest.mark.parametrize("name", ["_ndjson_lines", "_csv_rows", "_csv_rows_escaping"])
def test_the_generated_code_is_the_pinned_code(name: str) -> None:
    pinned = (GENERATED / f"{name}.py.txt").read_text()
    assert SOURCES[name] == pinned, (
        f"the generated {name} changed; if that is meant, copy SOURCES[{name!r}] from"
        f" secfeed_cli.output.encode into tests/data/generated/{name}.py.txt"
    )


def test_a_failure_inside_generated_code_shows_its_line() -> None:
    broken = Filing("0000000001-26-000001", "4", 1, "x", "2026-01-01", "a", "b", True)
    broken.accession_no = None  # type: ignore[assignment]  # not a str: .replace fails
    with pytest.raises(AttributeError) as caught:
        _ndjson_lines([broken])
    shown = "".join(traceback.format_exception(caught.value))
    assert 'File "<secfeed _ndjson_lines>"' in shown
    assert "f'{{" in shown or "for f in filings" in shown, shown
