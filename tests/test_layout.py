"""The live table's geometry, its status line, the company in a description, form typos. Pure."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secfeed_cli.filtering.formcheck import check, closest
from secfeed_cli.output import Status
from secfeed_cli.output.latency import Summary
from secfeed_cli.output.layout import (
    COMPANY_MIN,
    PRIORITY,
    cell_width,
    fit,
    fit_status,
    layout,
    status_line,
)
from secfeed_cli.wire.filing import split_description

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
NO_LATENCY = Summary(0, math.nan, math.nan, math.nan)


def status(**kw: object) -> Status:
    base: dict[str, object] = dict(
        state="connected",
        host="api.sec.finfeedapi.com:443",
        shown=12345,
        filtered=678,
        malformed=0,
        backlog_complete=True,
        heartbeat_age=0.8,
        heartbeat_on=True,
        latency=Summary(900, 210.0, 480.0, 1900.0),
        received=13023,
    )
    base.update(kw)
    return Status(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("description", "form", "company", "role"),
    [
        ("4 - PACCAR INC (0000075362) (Issuer)", "4", "PACCAR INC", "Issuer"),
        ("D - Alter VC Fund, LP - E2 (0002103270) (Filer)", "D", "Alter VC Fund, LP - E2", "Filer"),
        (
            "SCHEDULE 13G/A - Acme (Holdings) Ltd (0000000042)",
            "SCHEDULE 13G/A",
            "Acme (Holdings) Ltd",
            None,
        ),
        ("8-K - X Corp (0000000001) (Filed by)", "8-K", "X Corp", "Filed by"),
        ("Something else entirely", "8-K", "Something else entirely", None),
        ("", "8-K", None, None),
    ],
)
def test_company_and_role_from_the_description(
    description: str, form: str, company: str | None, role: str | None
) -> None:
    assert split_description(description, form) == (company, role)


def test_columns_depend_on_the_width_alone_in_priority_order() -> None:
    for latency, details in ((False, False), (True, False), (False, True), (True, True)):
        previous: list[str] = []
        for width in range(40, 240):  # below 40 cells, rows wrap (README)
            columns = layout(width, latency, details)
            keys = [c.key for c, _ in columns]
            assert sum(w for _, w in columns) + 2 * (len(columns) - 1) <= width - 1
            # A wider terminal never loses a column, and columns come in PRIORITY order.
            assert set(previous) <= set(keys)
            wanted = [
                k for k in PRIORITY if (latency or k != "latency") and (details or k != "details")
            ]
            assert sorted(keys, key=wanted.index) == [k for k in wanted if k in keys]
            assert set(keys) == set(wanted[: len(keys)])
            company = dict((c.key, w) for c, w in columns)["company"]
            assert company >= (COMPANY_MIN if len(keys) > 3 else 8)
            previous = keys
    at_80 = [c.key for c, _ in layout(80, False)]
    assert at_80 == ["time", "form", "company", "accession"]
    assert dict((c.key, w) for c, w in layout(80, False))["company"] >= 28


def test_cells_fit_exactly() -> None:
    assert fit("PACCAR INC", 6) == "PACCA…"
    assert fit("abc", 5) == "abc  " and fit("abc", 5, right=True) == "  abc"
    assert fit("日本語の会社", 7) == "日本語…" and len(fit("日本", 6)) == 4  # two cells each


@pytest.mark.parametrize("width", [20, 40, 60, 80, 100, 120, 200])
def test_status_line_fits_by_shortening_not_cutting(width: int) -> None:
    line = status_line(status(), width, color=False)
    assert len(line) <= width - 1
    if width >= 40:
        assert not line.endswith("…")
    assert line.startswith("● live")


def test_status_segments_go_in_priority_order() -> None:
    wide = status_line(status(), 200, False)
    assert wide == (
        "● live · api.sec.finfeedapi.com:443 │ 12345 shown · 678 filtered out · 0 malformed"
        " │ heartbeat 0.8s ago │ live latency p50 210ms p95 480ms max 1.9s │ Ctrl-C quits"
    )
    # Narrower: each segment shortened, least important first, before any is left out.
    assert status_line(status(), 100, False) == (
        "● live · api.sec.finfeedapi.com:443 │ 12345 shown · 678 filtered │ hb 1s │ p50 210ms"
        " │ Ctrl-C quits"
    )
    # How to quit (the table reads no keys: q does nothing) goes before the host does.
    assert status_line(status(), 80, False) == (
        "● live · api.sec.finfeedapi.com:443 │ 12345 shown │ hb 1s │ p50 210ms"
    )
    # The state loses its host after the others are short, before any is left out.
    assert status_line(status(), 60, False) == "● live │ 12345 shown │ hb 1s │ p50 210ms"
    assert [t for _, t in fit_status(status(), 30)] == [
        "● live",
        " │ ",
        "12345 shown",
        " │ ",
        "hb 1s",
    ]
    assert [t for _, t in fit_status(status(), 15)] == ["● live"]


def test_no_heartbeat_yet_only_when_nothing_has_arrived() -> None:
    assert "no heartbeat yet" not in status_line(status(heartbeat_age=None), 200, False)
    quiet = status(heartbeat_age=None, received=0, shown=0, latency=NO_LATENCY)
    assert "no heartbeat yet" in status_line(quiet, 200, False)
    assert "heartbeat off" in status_line(status(heartbeat_on=False), 200, False)


def test_first_contact_names_the_cause_and_the_retry() -> None:
    waiting = status(state="waiting", cause="connection refused", retry_in=3.4, shown=0, received=0)
    assert status_line(waiting, 200, False).startswith(
        "● api.sec.finfeedapi.com:443: connection refused · retry in 3s"
    )
    assert status_line(waiting, 40, False) == "● connection refused · retry in 3s"
    again = status(state="connecting", cause="TLS certificate of x not trusted", retry_in=None)
    assert "(last attempt: TLS certificate of x not trusted)" in status_line(again, 200, False)


@given(
    st.integers(min_value=1, max_value=400),
    st.text(max_size=60),
    st.integers(min_value=0, max_value=10**12),
)
def test_status_line_never_exceeds_the_width(width: int, cause: str, shown: int) -> None:
    line = status_line(
        status(state="waiting", cause=cause, retry_in=1.0, shown=shown), width, False
    )

    assert cell_width(line) <= max(width - 1, 1)


@pytest.mark.parametrize(
    ("typo", "meant"),
    [("8K", "8-K"), ("10Q", "10-Q"), ("1O-K", "10-K"), ("def14a", "DEF 14A"), ("s1", "S-1")],
)
def test_closest_form(typo: str, meant: str) -> None:
    assert closest(typo) == meant


def test_real_forms_and_matching_globs_get_no_warning() -> None:
    assert check(["8-K", "10-K*", "schedule 13*", "4", "S-1/A", "*", "D/A", "424B?"]) == []
    assert len(check(["8K", "XYZ*", "SC 13D"])) == 3


def test_the_shipped_form_list_holds_the_forms_of_the_feed() -> None:
    from secfeed_cli.filtering.formcheck import known_forms

    forms = known_forms()
    assert len(forms) > 200 and list(forms) == sorted(forms)
    for form in ("8-K", "10-K", "10-Q", "4", "SCHEDULE 13G/A", "DEF 14A", "424B2", "S-1/A"):
        assert form in forms


def test_the_shipped_form_list_is_what_the_script_builds() -> None:
    import subprocess
    import sys

    data = ROOT.parent / "shared" / "data"
    if not data.is_dir():
        pytest.skip("shared/data is not next to this checkout")
    res = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_forms.py"), str(data), "--check"],
        capture_output=True,
    )
    assert res.returncode == 0, res.stderr


def test_the_row_budget_lets_a_burst_through_then_a_rate() -> None:
    from secfeed_cli.output.table import RowBudget

    budget = RowBudget(capacity=2000, rate=1000, now=10.0)
    assert budget.available(10.0) == 2000
    budget.spend(1990)
    assert budget.available(10.0) == 10
    assert budget.available(10.125) == 135  # refilled at 1,000 a second
    budget.spend(135)
    assert budget.available(13.0) == 2000  # never more than the capacity
