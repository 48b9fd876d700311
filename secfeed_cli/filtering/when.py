"""``--since WHEN``: a point in time as a person types it. Pure (the clock is passed in).

Accepted, as journalctl's ``--since`` and kubectl's ``--since`` take them:

- an age back from now: ``90s``, ``15m``, ``2h``, ``1d``, ``1w`` (a number and a unit);
- an RFC 3339 time with ``Z`` or an offset: ``2026-12-03T14:30:00Z``;
- a local time without an offset: ``2026-12-03T14:30``, ``2026-12-03 14:30:05``;
- a date, meaning local midnight: ``2026-12-03``; and ``today``, ``yesterday``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from ..wire.filing import TIME_RE, parse_time

_AGE = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])\Z", re.ASCII | re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_LOCAL = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2}))?)?\Z", re.ASCII)
#: The longest age taken: ten years (older is surely a typo, and far past any backlog).
MAX_AGE = 10 * 366 * 86400

EXAMPLES = "15m, 2h, 1d, 2026-12-03, 2026-12-03T14:30, 2026-12-03T14:30:00Z"


def parse_when(text: str, now: datetime) -> datetime:
    """The UTC time ``text`` names, ``now`` being an aware datetime. ValueError otherwise."""
    t = text.strip()
    age = _AGE.match(t)
    if age is not None:
        seconds = float(age.group(1)) * _UNITS[age.group(2).lower()]
        if seconds > MAX_AGE:
            raise ValueError(f"{text!r} is more than ten years ago")
        return (now - timedelta(seconds=seconds)).astimezone(timezone.utc)
    word = t.lower()
    if word in ("today", "yesterday"):
        day = now.astimezone().date() - timedelta(days=word == "yesterday")
        return datetime(day.year, day.month, day.day).astimezone(timezone.utc)
    if TIME_RE.match(t):
        return parse_time(t)
    local = _LOCAL.match(t)
    if local is None:
        raise ValueError(f"{text!r} is not a time ({EXAMPLES})")
    year, month, day_, hour, minute, second = (int(p) for p in local.groups(default="0"))
    try:
        naive = datetime(year, month, day_, hour, minute, second)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a time: {exc}") from None
    return naive.astimezone(timezone.utc)  # a naive datetime is local time
