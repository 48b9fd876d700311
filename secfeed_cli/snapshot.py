"""What `secfeed snapshot` needs beyond a run: atomic output files and the state file.

No click, no rich: plain files. A file is written as a temporary file in the same directory,
flushed and fsynced, then renamed over the target, so readers see the old file or the new one,
never a half-written one; on any failure the temporary file is removed.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import BinaryIO

from .errors import OutputError


class AtomicFile:
    """A file that appears at ``path`` only on :meth:`commit`."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        directory = self.path.parent
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror}") from None
        self.tmp = Path(tmp)
        self.file: BinaryIO = os.fdopen(fd, "wb")
        self.done = False

    def commit(self) -> None:
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            os.replace(self.tmp, self.path)
        except OSError as exc:
            raise OutputError(f"cannot write {self.path}: {exc.strerror}") from None
        self.done = True
        try:  # make the rename itself durable
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(dir_fd)
        except OSError:
            pass
        finally:
            os.close(dir_fd)

    def abort(self) -> None:
        if self.done:
            return
        self.done = True
        try:
            self.file.close()
        except OSError:
            pass
        self.tmp.unlink(missing_ok=True)


def write_atomic(path: str, data: bytes) -> None:
    out = AtomicFile(path)
    try:
        out.file.write(data)
        out.commit()
    finally:
        out.abort()


class StateError(ValueError):
    pass


class State:
    """Accession numbers already written by earlier runs (the newest ``size`` of them)."""

    VERSION = 1

    def __init__(self, path: str, size: int = 200_000) -> None:
        self.path = path
        self.size = size
        self.seen: OrderedDict[str, None] = OrderedDict()
        self.new: list[str] = []

    def load(self) -> State:
        try:
            text = Path(self.path).read_text(encoding="utf-8")
        except FileNotFoundError:
            return self
        except OSError as exc:
            raise StateError(f"cannot read state file {self.path}: {exc.strerror}") from None
        try:
            data = json.loads(text)
            if data.get("version") != self.VERSION or not isinstance(data["accessions"], list):
                raise ValueError
            accessions = [str(a) for a in data["accessions"]]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise StateError(
                f"state file {self.path} is not a secfeed state file (remove it to start over)"
            ) from None
        self.seen = OrderedDict.fromkeys(accessions[-self.size :])
        return self

    def __contains__(self, accession: str) -> bool:
        return accession in self.seen

    def add(self, accession: str) -> None:
        self.new.append(accession)

    def save(self) -> None:
        for accession in self.new:
            self.seen[accession] = None
            self.seen.move_to_end(accession)
        while len(self.seen) > self.size:
            self.seen.popitem(last=False)
        data = {"version": self.VERSION, "accessions": list(self.seen)}
        write_atomic(self.path, (json.dumps(data, separators=(",", ":")) + "\n").encode())
        self.new = []
