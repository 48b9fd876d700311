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


def test_the_fields_are_listed_once_and_documented_as_they_are(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """records.FIELDS is the one list: the record, the CSV header, the hooks' variables, the
    fields a relay message drops, and the README's schema table all follow it."""
    import os
    import re

    from secfeed_cli.alerts.hooks import environment
    from secfeed_cli.companies.lookup import Companies
    from secfeed_cli.output.records import COLUMNS, FIELDS, LATENCY_COLUMNS, text_fields, to_record
    from secfeed_cli.wire import protocol

    for name in [k for k in os.environ if k.startswith("SECFEED_")]:  # CI sets some of its own
        monkeypatch.delenv(name)
    filing = Filing("0000320193-26-000001", "8-K", 320193, "8-K - x", "2026-01-01", "a", "b", True)
    Companies().fill([filing])
    assert list(to_record(filing)) == list(COLUMNS) == [name for name, _ in FIELDS]
    assert list(text_fields(filing)) == list(COLUMNS)
    variables = {k for k in environment(filing) if k.startswith("SECFEED_")}
    assert variables == {f"SECFEED_{name.upper()}" for name in COLUMNS}
    derived = {name for name, kind in FIELDS if kind in ("company", "ticker", "url")}
    assert set(protocol.DERIVED) == derived | set(LATENCY_COLUMNS) | {"details", "matches"}
    docs = Path(__file__).parent.parent / "docs"
    readme = (docs / "output.md").read_text()
    table = readme.split("| key | type | meaning |", 1)[1].split("\n\n", 1)[0]
    documented = re.findall(r"^\| `(\w+)` \|", table, re.M)
    assert documented == [*COLUMNS, *LATENCY_COLUMNS, "details", "matches"]
    alerts = (docs / "alerts.md").read_text()
    hooks = alerts.split("its fields in the environment:", 1)[1].split("(the API key", 1)[0]
    assert set(re.findall(r"SECFEED_\w+", hooks)) == variables
