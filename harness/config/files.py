"""Opening the files a run is given (suites, cassettes, baselines, run directories): regular
files only.

A FIFO opened for reading blocks until someone writes to it, so harness would hang with no
output; a device may never end. Each file is opened without blocking and checked with fstat on
the open descriptor (not stat before open, which a swap in between would fool).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO


class NotRegularFile(OSError):
    """A pipe, socket or device where a file was expected."""


def open_regular(path: Path) -> BinaryIO:
    """`path` opened for reading in binary mode.

    Raises:
        IsADirectoryError: a folder.
        NotRegularFile: a pipe, socket or device (its strerror says which).
        OSError: it cannot be opened (missing, no permission, ...).
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "is a folder, expected a file", str(path))
        if not stat.S_ISREG(mode):
            raise NotRegularFile(errno.EINVAL, f"is {_kind(mode)}, not a regular file", str(path))
        # Regular files ignore O_NONBLOCK, but a reader should not inherit the flag.
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: Path) -> bytes:
    """The whole of a regular file (see `open_regular`)."""
    with open_regular(path) as handle:
        return handle.read()


def not_a_file(path: Path) -> str | None:
    """Why `path` (links followed) cannot be read as a file: `is a folder`, `is a named pipe
    (FIFO), not a regular file`; None when it is a regular file or does not exist."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder, expected a file"
    return None if stat.S_ISREG(mode) else f"is {_kind(mode)}, not a regular file"


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "something other than a file"
