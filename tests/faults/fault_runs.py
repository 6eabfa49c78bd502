"""What the fault tests share: the e2e helpers (a `harness run` seen from outside) and
`started`, which kills whatever a failed test left behind. (No conftest.py here: a second
module named conftest would clash with tests/e2e's under mypy.)"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from cli_runs import (
    Harness,
    interaction,
    marked_processes,
    read_jsonl,
    surviving_processes,
    write_cassette,
    write_suite,
)

__all__ = [
    "Harness",
    "interaction",
    "marked_processes",
    "read_jsonl",
    "started",
    "surviving_processes",
    "write_cassette",
    "write_suite",
]

FAULTS_DIR = Path(__file__).resolve().parent
HOSTILE = FAULTS_DIR / "agents" / "hostile.py"


@contextlib.contextmanager
def started(tmp_path: Path) -> Iterator[Harness]:
    runner = Harness(tmp_path)
    try:
        yield runner
    finally:
        surviving_processes(runner.marker, settle_seconds=0)
