"""``--since WHEN`` parsing (when.py): pure, with the clock passed in."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from secfeed_cli.filtering.filters import FilingFilter
from secfeed_cli.filtering.when import parse_when
from secfeed_cli.wire.filing import Filing


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)


NOW = datetime(2026, 12, 3, 14, 30, 15, 250_000, tzinfo=timezone.utc)


@pytest.fixture
def in_new_york() -> Iterator[None]:
    """Local time is America/New_York (EST, UTC-5, in December)."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "EST5EDT,M3.2.0,M11.1.0"  # New York, as a POSIX rule (no tzdata needed)
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", datetime(2026, 12, 3, 14, 28, 45, 250_000, tzinfo=timezone.utc)),
        ("15m", datetime(2026, 12, 3, 14, 15, 15, 250_000, tzinfo=timezone.utc)),
        ("2H", datetime(2026, 12, 3, 12, 30, 15, 250_000, tzinfo=timezone.utc)),
        ("1.5d", datetime(2026, 12, 2, 2, 30, 15, 250_000, tzinfo=timezone.utc)),
        ("1w", datetime(2026, 11, 26, 14, 30, 15, 250_000, tzinfo=timezone.utc)),
        ("2026-12-03T10:00:00Z", datetime(2026, 12, 3, 10, tzinfo=timezone.utc)),
        ("2026-12-03T10:00:00.5+02:00", datetime(2026, 12, 3, 8, 0, 0, 500_000, timezone.utc)),
    ],
)
def test_ages_and_rfc3339_times(text: str, expected: datetime) -> None:
    assert parse_when(text, NOW) == expected


def test_dates_and_times_without_an_offset_are_local(in_new_york: None) -> None:
    assert parse_when("2026-12-03", NOW) == utc(2026, 12, 3, 5)
    assert parse_when("2026-12-03T09:15", NOW) == utc(2026, 12, 3, 14, 15)
    assert parse_when("2026-12-03 09:15:07", NOW) == utc(2026, 12, 3, 14, 15, 7)
    assert parse_when("today", NOW) == utc(2026, 12, 3, 5)
    assert parse_when("yesterday", NOW) == utc(2026, 12, 2, 5)


def test_yesterday_across_a_daylight_saving_change(in_new_york: None) -> None:
    # 2026-11-01 was the end of daylight saving time in New York: midnight before was EDT
    now = datetime(2026, 11, 2, 15, tzinfo=timezone.utc)
    assert parse_when("yesterday", now) == datetime(2026, 11, 1, 4, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "text", ["", "15", "15x", "-1h", "2026-13-01", "2026-02-30", "2026-12-03T25:00", "11y", "1e9d"]
)
def test_what_is_not_a_time(text: str) -> None:
    with pytest.raises(ValueError, match="time|ten years"):
        parse_when(text, NOW)


def _filing(discovered_time: str) -> Filing:
    return Filing(
        accession_no="0000000001-26-000001",
        form="4",
        cik=1,
        description="4 - X (0000000001) (Issuer)",
        filing_date="2026-12-03",
        accepted_time="2026-12-03T10:00:00Z",
        discovered_time=discovered_time,
        is_historical=True,
    )


@pytest.mark.parametrize(
    ("discovered", "passes"),
    [
        ("2026-12-03T10:00:00Z", False),
        ("2026-12-03T10:00:00.4999Z", False),
        ("2026-12-03T10:00:00.5Z", True),
        ("2026-12-03T10:00:00.500000001Z", True),
        ("2026-12-03T10:00:01Z", True),
        ("2026-12-03T09:59:59.999Z", False),
        ("2026-12-04T00:00:00Z", True),
        ("2026-12-03T10:00:60Z", True),  # a leap second is after :00
    ],
)
def test_since_compares_to_the_fraction_of_a_second(discovered: str, passes: bool) -> None:
    since = datetime(2026, 12, 3, 10, 0, 0, 500_000, tzinfo=timezone.utc)
    filt = FilingFilter(since=since)
    assert filt.active
    assert filt.is_recent(_filing(discovered)) is passes
    assert len(filt.select([_filing(discovered)])) == int(passes)
