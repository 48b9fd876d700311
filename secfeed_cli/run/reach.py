"""How far back a run's first backlog reached, said: short of ``--since``, or short of the
archive's newest filing (a gap). Pure but for the diagnostics it speaks through."""

from __future__ import annotations

from datetime import datetime

from ..common.diagnostics import Diagnostics
from ..wire.filing import parse_time


def since_reached(diag: Diagnostics, since: datetime, since_key: str, reach: str | None) -> None:
    """--since: say when the backlog (its oldest filing ``reach``) does not reach back that far."""
    asked = f"--since {since.strftime('%Y-%m-%dT%H:%M:%SZ')}"
    if reach is None:
        diag.info(f"the backlog is empty: nothing from before now ({asked})")
    elif reach > since_key:
        diag.warn(
            f"the backlog reaches back only to {reach}Z, not to {asked}: filings discovered in"
            " between are not in it"
        )


def gap(diag: Diagnostics, newest: str | None, reach: str | None, backfilling: bool) -> bool:
    """--archive: say whether the backlog (oldest ``reach``) leaves a gap after the archive's
    ``newest`` filing; True if it does."""
    if newest is None or reach is None or reach <= newest[:19]:
        return False
    seconds = (parse_time(reach + "Z") - parse_time(newest[:19] + "Z")).total_seconds()
    diag.warn(
        f"the archive's newest filing was discovered at {newest[:19]}Z and this backlog reaches"
        f" back only to {reach}Z: filings of those {span(seconds)} are not in the archive"
        + ("; asking EDGAR's indexes for them (--backfill)" if backfilling else "")
    )
    return True


def span(seconds: float) -> str:
    """``3 h 20 min``, ``2 d 4 h``, ``45 s``: a gap as a person reads it."""
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"
