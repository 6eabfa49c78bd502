"""Paths and durations as graders and workspaces take them from YAML.

A path a grader names must stay inside the attempt's workspace: `..` segments and absolute
paths are refused as written, and symlinks are resolved so one pointing out is refused too.
Durations carry their unit (`30s`, `2m`, `500ms`, `1h`), as Vally writes them.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path, PurePosixPath

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class PathEscapeError(ValueError):
    """A path that leaves the workspace."""


def parse_duration(value: str | float | int) -> float:
    """Seconds in `value`: `30s`, `2m`, `500ms`, `1h`, or a bare number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as 30s or 2m, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        found = _DURATION.fullmatch(value)
        if found is None:
            raise ValueError(f"expected a duration such as 30s, 2m or 500ms, got {value!r}")
        seconds = float(found[1]) * _UNIT_SECONDS[found[2]]
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"must be a positive duration, got {value!r}")
    return seconds


def check_relative(path: str) -> PurePosixPath:
    """`path` as a relative POSIX path (either slash style), refusing `..` and absolute paths."""
    text = path.replace("\\", "/")
    pure = PurePosixPath(text)
    if not text or pure.is_absolute() or re.match(r"^[A-Za-z]:", text):
        raise PathEscapeError(f"{path!r} must be a relative path inside the workspace")
    if ".." in pure.parts:
        raise PathEscapeError(f"{path!r} leaves the workspace ('..' is not allowed)")
    return pure


def inside(root: Path, path: str) -> Path:
    """`root / path`, refused when it (or a symlink on the way) leads outside `root`."""
    relative = check_relative(path)
    real_root = Path(os.path.realpath(root))
    target = Path(os.path.realpath(real_root / relative))
    if target != real_root and real_root not in target.parents:
        raise PathEscapeError(
            f"{path!r} resolves to {target}, outside the workspace (a symlink points out)"
        )
    return target
