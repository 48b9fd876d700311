"""Latency of live filings (receive time minus ``discovered_time``) and its statistics. Pure."""

from __future__ import annotations

import math
from collections import deque

import msgspec


class Summary(msgspec.Struct, frozen=True):
    count: int
    p50: float
    p95: float
    max: float

    def __str__(self) -> str:
        if not self.count:
            return "no live filings"
        return f"p50 {fmt_ms(self.p50)} p95 {fmt_ms(self.p95)} max {fmt_ms(self.max)}"


def fmt_ms(ms: float) -> str:
    if abs(ms) >= 10_000:
        return f"{ms / 1000:.0f}s"
    if abs(ms) >= 1000:
        return f"{ms / 1000:.1f}s"
    return f"{ms:.0f}ms"


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (``q`` in 0..100)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


class LatencyStats:
    """Running latency statistics over live filings.

    Percentiles are over the most recent ``window`` samples (bounded memory); the maximum and the
    count cover the whole run. ``behind`` tells whether latency keeps growing: the median of the
    newest quarter of the window is far above that of the oldest quarter.
    """

    def __init__(self, window: int = 4096, check_every: float = 1.0) -> None:
        self.recent: deque[float] = deque(maxlen=window)
        self.count = 0
        self.max = -math.inf
        self.negative = 0
        self.check_every = check_every
        self._next_check = -math.inf

    def add(self, ms: float) -> None:
        self.recent.append(ms)
        self.count += 1
        if ms > self.max:
            self.max = ms
        if ms < 0:
            self.negative += 1

    def summary(self) -> Summary:
        if not self.count:
            return Summary(0, math.nan, math.nan, math.nan)
        values = sorted(self.recent)
        return Summary(self.count, percentile(values, 50), percentile(values, 95), self.max)

    def falling_behind(self, now: float) -> bool:
        """:meth:`growing`, looked at no more often than once every ``check_every`` seconds
        of ``now``: it sorts half the window (about 0.1 ms), too much to do every few filings
        of a fast feed, where it would delay the filing that ran it."""
        if self._next_check - self.check_every <= now < self._next_check:
            return False  # looked at less than check_every ago (a clock set back: look now)
        self._next_check = now + self.check_every
        return self.growing()

    def growing(self, min_samples: int = 64, threshold_ms: float = 2000.0) -> bool:
        """True when the newest quarter runs ``threshold_ms`` behind the oldest quarter."""
        n = len(self.recent)
        if n < min_samples:
            return False
        quarter = n // 4
        items = list(self.recent)
        old = sorted(items[:quarter])
        new = sorted(items[-quarter:])
        return percentile(new, 50) - percentile(old, 50) > threshold_ms
