"""Backoff and the retry limit (feed/retry.py): pure, with the random draw passed in."""

from __future__ import annotations

import pytest

from secfeed_cli.feed.retry import Retry

pytestmark = pytest.mark.unit


def highest(low: float, high: float) -> float:
    return high


def test_ceilings_double_from_half_a_second_to_thirty() -> None:
    retry = Retry(uniform=highest)
    waits = []
    for _ in range(10):
        assert retry.failed()
        waits.append(retry.delay())
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0]


def test_full_jitter_draws_from_zero_to_the_ceiling() -> None:
    drawn: list[tuple[float, float]] = []

    def lowest(low: float, high: float) -> float:
        drawn.append((low, high))
        return low

    retry = Retry(uniform=lowest)
    retry.failed()
    retry.failed()
    assert retry.delay() == 0.0 and drawn == [(0.0, 1.0)]


def test_the_limit_counts_failures_in_a_row_and_a_reset_starts_over() -> None:
    retry = Retry(max_retries=2, uniform=highest)
    assert retry.failed() and retry.failed()
    assert not retry.failed()  # the third in a row: give up
    retry.reset()
    assert retry.failed() and retry.delay() == 0.5


def test_no_limit_retries_for_ever_and_the_exponent_stays_bounded() -> None:
    retry = Retry(uniform=highest)
    for _ in range(10_000):
        assert retry.failed()
    assert retry.delay() == 30.0


def test_the_default_draw_stays_within_the_ceiling() -> None:
    retry = Retry()
    retry.failed()
    assert all(0.0 <= retry.delay() <= 0.5 for _ in range(1000))


# mutant: equivalent: secfeed_cli/feed/retry.py:39 the exponent's bound (16, or 17): it only
# keeps 2.0 ** n finite after thousands of failures; 0.5 s * 2 ** 16 is far past the 30 s cap.
