"""`latest`: the newest run directory, wherever a command takes one (`harness report latest`,
`baseline promote --from latest`, `diff --run out/latest`).

Run directories are `<output dir>/<suite>/<run_id>`, and a run id starts with the UTC time
it started (`20260214-093000-1a2b3c`), so the newest is the greatest id; runs started in one
second are told apart by when their run.json was last written.
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.errors import UsageError

LATEST = "latest"
DEFAULT_OUTPUT_DIR = Path("harness_out")  # where runs go unless told otherwise
_STAMP = len("20260214-093000")


def resolve_run_dir(path: Path) -> Path:
    """`path` itself, unless it is `latest` or ends in `/latest` and does not exist: then the
    newest run directory under ./harness_out, or under the folder before `/latest` (an output
    dir, or one suite's folder in it).

    Raises:
        UsageError: no run directory is there.
    """
    if path.name != LATEST or os.path.lexists(path):
        return path
    base = DEFAULT_OUTPUT_DIR if path.parent == Path() else path.parent
    runs = [
        found.parent for pattern in ("*/run.json", "*/*/run.json") for found in base.glob(pattern)
    ]
    if not runs:
        raise UsageError(
            f"{path}: no run directory under {base}/ yet; run a suite first, or name the run "
            "directory (harness_out/<suite>/<run_id>)"
        )
    return max(runs, key=_newness)


def _newness(run_dir: Path) -> tuple[str, int]:
    try:
        written = (run_dir / "run.json").stat().st_mtime_ns
    except OSError:
        written = 0
    return run_dir.name[:_STAMP], written
