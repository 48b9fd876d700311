"""When to try again after a failed connect or a lost connection, and how long to wait first.

Exponential backoff with full jitter (AWS's "Exponential Backoff and Jitter"): the n-th failure
in a row waits uniform(0, min(30, 0.5 * 2**(n-1))) seconds; a connection that delivered
filings resets the count; ``--max-retries N`` gives up after N failures in a row. Pure: the
random draw is passed in (tests give a fixed one), the waiting is the stream's.
"""

from __future__ import annotations

from collections.abc import Callable

#: The longest wait between attempts (seconds), and the first one's ceiling.
CAP = 30.0
FIRST = 0.5


class Retry:
    def __init__(
        self,
        max_retries: int | None = None,
        uniform: Callable[[float, float], float] | None = None,
    ) -> None:
        self.max_retries = max_retries
        self.failures = 0  # in a row
        self._uniform = uniform

    def failed(self) -> bool:
        """Count a failure; False once more failed in a row than ``max_retries`` allows."""
        self.failures += 1
        return self.max_retries is None or self.failures <= self.max_retries

    def reset(self) -> None:
        """A connection delivered filings: the next failure is the first again."""
        self.failures = 0

    def ceiling(self) -> float:
        """The longest the wait after the current failure can be."""
        return float(min(CAP, FIRST * 2.0 ** min(max(self.failures, 1) - 1, 16)))

    def delay(self) -> float:
        """The wait before the next attempt: uniform(0, :meth:`ceiling`)."""
        uniform = self._uniform
        if uniform is None:
            import random  # here: a run that never reconnects need not import it (~1 ms)

            uniform = random.uniform
        return uniform(0.0, self.ceiling())
