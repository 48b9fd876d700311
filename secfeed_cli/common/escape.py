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


# The ASCII characters of each set, for a quick look at ASCII text (nearly all of the feed):
# deleting them with bytes.translate and comparing lengths is several times faster than a
# regex search.
_ASCII_UNSAFE = bytes([*range(0x20), 0x7F])
_ASCII_UNSAFE_IN_CSV = bytes([c for c in _ASCII_UNSAFE if c not in b"\t\n\r"])


def _escape(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


def _has(text: str, unsafe: re.Pattern[str], ascii_unsafe: bytes) -> bool:
    if text.isascii():
        data = text.encode("ascii")
        return len(data.translate(None, ascii_unsafe)) != len(data)
    return unsafe.search(text) is not None


def has_control(text: str) -> bool:
    """Whether :func:`escape_control` would change ``text``."""
    return _has(text, _UNSAFE, _ASCII_UNSAFE)


def escape_control(text: str) -> str:
    """Show control characters as escapes (``\\x1b``) so they cannot move the cursor or recolour."""
    if not _UNSAFE.search(text):
        return text
    return _UNSAFE.sub(_escape, text)


def has_control_csv(text: str) -> bool:
    """Whether :func:`escape_control_csv` would change ``text``."""
    return _has(text, _UNSAFE_IN_CSV, _ASCII_UNSAFE_IN_CSV)


def escape_control_csv(text: str) -> str:
    """:func:`escape_control` for a CSV cell: tab, LF and CR stay (the cell is quoted)."""
    if not _UNSAFE_IN_CSV.search(text):
        return text
    return _UNSAFE_IN_CSV.sub(_escape, text)
