"""Writes that a crash cannot tear: whole files via rename, lines via one append each."""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from harness.errors import disk_error as disk_error  # storage's own name for it, kept


def _temp_prefix(path: Path) -> str:
    # The writer's pid is in the name, so a later run can tell a temp file whose writer was
    # killed (nothing can delete it at SIGKILL) from one being written now.
    return f".{path.name}.{os.getpid()}."


def _umask() -> int:
    """The process's umask, read without changing it (os.umask sets it to read it, which
    another thread's file could catch): from /proc on Linux, else set and put back once."""
    if _UMASK:
        return _UMASK[0]
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            mask = next(int(line.split()[1], 8) for line in status if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError, IndexError):
        mask = os.umask(0o022)
        os.umask(mask)
    _UMASK.append(mask)
    return mask


_UMASK: list[int] = []  # read once: harness never changes its umask


def remove_stale_temps(path: Path) -> list[Path]:
    """Delete the temp files beside `path` left by writers that no longer run (killed between
    creating and renaming one); returns what was removed."""
    removed = []
    with contextlib.suppress(OSError):
        for sibling in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
            pid = sibling.name[len(path.name) + 2 :].split(".", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                with contextlib.suppress(OSError):
                    sibling.unlink()
                    removed.append(sibling)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to a temp file beside `path`, fsync it, then rename over `path`."""
    with atomic_stream(path) as handle:
        handle.write(data)


@contextlib.contextmanager
def atomic_stream(path: Path) -> Iterator[BinaryIO]:
    """`atomic_write` for a file written piece by piece (a report too big to hold whole): a
    temp file beside `path`, readable too, fsynced and renamed over `path` when the block ends;
    removed, leaving `path` as it was, when the block raises."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=_temp_prefix(path), suffix=".tmp")
    try:
        # mkstemp makes the file 0600; the file it becomes gets what open() would give it
        # (0666 less the umask): cassettes, junit.xml and reports are shared files. None of
        # harness's files holds a secret by design (every one is redacted first).
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w+b") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        if isinstance(exc, OSError):
            raise disk_error(path, exc) from exc
        raise


class LineAppender:
    """An append-only JSONL file: each record is one write() of a whole line, flushed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: BinaryIO | None = None

    def append(self, line: bytes) -> int:
        """Append `line`; returns the byte offset where it starts."""
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Unbuffered, so a line is either fully handed to the OS or not at all.
            self._handle = open(self.path, "ab", buffering=0)  # noqa: SIM115
        # The end of the file, not tell(): after a cut-off below, the position is stale.
        start = self._handle.seek(0, os.SEEK_END)
        try:
            view = memoryview(line)
            while view:
                # A full disk can take part of a line without an error (a short write): the
                # rest is retried, and on error the part already written is cut off again, so
                # the file never ends in a torn line that the next append would run into.
                written = self._handle.write(view)
                if not written:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                view = view[written:]
        except OSError as exc:
            with contextlib.suppress(OSError):
                self._handle.truncate(start)
            raise disk_error(self.path, exc) from exc
        return start

    def close(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                os.fsync(self._handle.fileno())
                self._handle.close()
            self._handle = None
