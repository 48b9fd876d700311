"""Making feed text safe for a terminal."""

from __future__ import annotations

import re

# DEL, C1 controls and the bidirectional overrides that reorder what is shown; with the C0
# controls, everything escaped for a terminal.
_OTHERS = "\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[\x00-\x1f{_OTHERS}]")
# The same less tab, LF and CR: a quoted CSV cell may hold those (RFC 4180), and they cannot
# drive a terminal.
_UNSAFE_IN_CSV = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f{_OTHERS}]")


def _escape(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


def has_control(text: str) -> bool:
    """Whether :func:`escape_control` would change ``text``."""
    return _UNSAFE.search(text) is not None


def escape_control(text: str) -> str:
    """Show control characters as escapes (``\\x1b``) so they cannot move the cursor or recolour."""
    if not _UNSAFE.search(text):
        return text
    return _UNSAFE.sub(_escape, text)


def has_control_csv(text: str) -> bool:
    """Whether :func:`escape_control_csv` would change ``text``."""
    return _UNSAFE_IN_CSV.search(text) is not None


def escape_control_csv(text: str) -> str:
    """:func:`escape_control` for a CSV cell: tab, LF and CR stay (the cell is quoted)."""
    if not _UNSAFE_IN_CSV.search(text):
        return text
    return _UNSAFE_IN_CSV.sub(_escape, text)
