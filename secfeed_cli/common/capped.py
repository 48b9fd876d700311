"""Reading a local file with a cap on its size. Import-light: every run may need it."""

from __future__ import annotations

from pathlib import Path


class FileTooLarge(Exception):
    """A file holds more than its reader takes (or is a device that never ends)."""


def read_limited(path: str | Path, limit: int) -> bytes:
    """A file's bytes, at most ``limit`` of them. Raises OSError when it cannot be read and
    FileTooLarge when it holds more: every file secfeed reads goes through here, so none of
    them (``/dev/zero`` included) can grow its memory."""
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(f"{path} is larger than {size_text(limit)}")
    return data


def size_text(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n >> 10} KiB"
