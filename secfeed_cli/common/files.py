"""What `secfeed snapshot` and `tail --state` need beyond a run: atomic files, the state file.

No click, no rich: plain files. A file is written as a temporary file in the same directory,
flushed and fsynced, then renamed over the target, so readers see the old file or the new one,
never a half-written one; on any failure the temporary file is removed.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import re
import stat
import tempfile
import time
from collections import OrderedDict
from pathlib import Path
from typing import BinaryIO

from ..errors import OutputError
from .capped import FileTooLarge, read_limited, size_text


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class AtomicFile:
    """A file that appears at ``path`` only on :meth:`commit`.

    A regular file (or a new one) is written as a temporary file in the same directory and
    renamed over the target: readers see the old file or the new one. A symlink is followed
    and its target replaced (the link stays). A FIFO or a character device (``/dev/stdout``,
    ``/dev/null``) cannot be replaced: it is written directly, in one go at :meth:`commit`
    (a FIFO waits for its reader). Anything else (a socket, a block device) is refused. An
    existing file keeps its permission bits (and owner, where allowed); a new one gets 0666
    less the umask, as a shell redirect would give it.
    """

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.target = Path(os.path.realpath(path))
        self.done = False
        self.direct = False
        try:
            st: os.stat_result | None = os.stat(self.target)
        except FileNotFoundError:
            st = None
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror}") from None
        if st is not None and (stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode)):
            self.direct = True  # written at commit, never replaced by a regular file
            self.file: BinaryIO = io.BytesIO()
            return
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise OutputError(f"cannot write {path}: not a regular file, FIFO or character device")
        try:
            fd, tmp = tempfile.mkstemp(
                prefix=f".{self.target.name}.", suffix=".tmp", dir=self.target.parent
            )
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror}") from None
        self.tmp = Path(tmp)
        try:
            if st is None:
                os.fchmod(fd, 0o666 & ~umask())
            else:
                os.fchmod(fd, stat.S_IMODE(st.st_mode))
                if (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
                    try:
                        os.fchown(fd, st.st_uid, st.st_gid)
                    except OSError:
                        pass  # not allowed: the file becomes ours, with its old mode
        except OSError as exc:
            os.close(fd)
            self.tmp.unlink(missing_ok=True)
            raise OutputError(f"cannot write {path}: {exc.strerror}") from None
        self.file = os.fdopen(fd, "wb")

    def commit(self) -> None:
        if self.direct:
            self._write_direct()
            return
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            os.replace(self.tmp, self.target)
        except OSError as exc:
            raise OutputError(f"cannot write {self.path}: {exc.strerror}") from None
        self.done = True
        try:  # make the rename itself durable
            dir_fd = os.open(self.target.parent, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(dir_fd)
        except OSError:
            pass
        finally:
            os.close(dir_fd)

    def _write_direct(self) -> None:
        assert isinstance(self.file, io.BytesIO)
        data = self.file.getvalue()
        try:
            with open(self.target, "wb") as out:
                out.write(data)
        except OSError as exc:
            raise OutputError(f"cannot write {self.path}: {exc.strerror}") from None
        self.done = True

    def abort(self) -> None:
        if self.done:
            return
        self.done = True
        try:
            self.file.close()
        except OSError:
            pass
        if not self.direct:
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


class StateBusy(StateError):
    """Another run holds the state file's lock."""


_ACCESSION = re.compile(r"\d{10}-\d{2}-\d{6}\Z", re.ASCII)
#: A state file holds at most 200,000 accession numbers of 23 characters (about 5.4 MB).
MAX_STATE = 16 << 20


class State:
    """Accession numbers already written by earlier runs (the newest ``size`` of them).

    :meth:`lock` takes an exclusive ``fcntl`` lock on ``<state>.lock`` (a file that is never
    replaced, unlike the state file itself), held until :meth:`unlock` (or the process ends),
    so two runs on one state (cron overlapping a slow run) take turns: the second reads the
    state only after the first has saved it.
    """

    VERSION = 1

    def __init__(self, path: str, size: int = 200_000) -> None:
        self.path = path
        self.size = size
        self.seen: OrderedDict[str, None] = OrderedDict()
        self.new: list[str] = []
        self._lock_fd: int | None = None

    def lock(self, deadline: float) -> None:
        """Wait for the lock until ``deadline`` (time.monotonic()); StateBusy after that."""
        lock_path = os.path.realpath(self.path) + ".lock"
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            raise StateError(f"cannot open the lock file {lock_path}: {exc.strerror}") from None
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._lock_fd = fd
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise StateBusy(
                        f"another secfeed is using {self.path} (its lock {lock_path} is held)"
                    ) from None
                time.sleep(0.05)

    def unlock(self) -> None:
        """Let the next run have the state (at the end of this one; the lock also goes with
        the process, should it be killed)."""
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor releases its flock

    def load(self) -> None:
        """What the state file holds (none yet: nothing); StateError if it is not one."""
        try:
            raw = read_limited(self.path, MAX_STATE)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StateError(f"cannot read state file {self.path}: {exc.strerror}") from None
        except FileTooLarge:
            raise StateError(
                f"state file {self.path} is larger than {size_text(MAX_STATE)}: not a secfeed state"
                " file (remove it to start over)"
            ) from None
        try:
            data = json.loads(raw.decode("utf-8"))
            accessions = data["accessions"] if data.get("version") == self.VERSION else None
            if not isinstance(accessions, list) or not all(
                isinstance(a, str) and _ACCESSION.match(a) for a in accessions
            ):
                raise ValueError
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            raise StateError(
                f"state file {self.path} is not a secfeed state file (remove it to start over)"
            ) from None
        self.seen = OrderedDict.fromkeys(accessions[-self.size :])

    def __contains__(self, accession: str) -> bool:
        return accession in self.seen

    def add(self, accession: str) -> None:
        self.new.append(accession)

    @property
    def dirty(self) -> bool:
        """Filings were added since the last save."""
        return bool(self.new)

    def save(self) -> None:
        for accession in self.new:
            self.seen[accession] = None
            self.seen.move_to_end(accession)
        while len(self.seen) > self.size:
            self.seen.popitem(last=False)
        data = {"version": self.VERSION, "accessions": list(self.seen)}
        write_atomic(self.path, (json.dumps(data, separators=(",", ":")) + "\n").encode())
        self.new = []
