"""The line a run ends with (``-v``, a non-zero exit, or what the table could not draw)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .loop import Run


def summarise(run: Run) -> str:
    stats = run.stream.stats
    c = run.counters
    lat = run.latency.summary()
    parts = [
        f"{stats.received} filings received",
        f"{run.shown} {getattr(run.sink, 'verb', 'shown')}",
        f"{c.filtered} filtered out",
        f"{stats.malformed} malformed skipped",
        f"{stats.duplicates} duplicates skipped",
    ]
    if run.undrawn:
        parts.append(f"{run.undrawn} not drawn (a burst faster than a terminal can show)")
    if run.skip is not None:
        parts.append(f"{c.already_written} already written")
    if c.backlog_skipped:
        parts.append(f"{c.backlog_skipped} backlog filings skipped (--no-backlog)")
    if c.older:
        parts.append(f"{c.older} older backlog filings not shown (-n {run.limits.lines})")
    if c.after_count:
        parts.append(f"{c.after_count} not shown (--count reached)")
    waiting = 0 if run.enricher is None else run.enricher.waiting
    if waiting:  # let out as the run ends: said so, since they are not shown yet
        parts.append(f"{waiting} still waiting for details")
    text = ", ".join(parts)
    if lat.count and not math.isnan(lat.p50):
        text += f"; live latency {lat}"
    if run.diag.verbose and stats.bytes:
        n = stats.connections
        text += (
            f"; read {stats.frames:,} frames, {stats.bytes:,} bytes over {n}"
            f" connection{'s' if n != 1 else ''}"
        )
    return text
