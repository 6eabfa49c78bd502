"""Fixtures of the end-to-end tests; the helpers they use live in cli_runs.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_runs import Harness, surviving_processes


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    runner = Harness(tmp_path)
    yield runner
    # A test that failed half-way must not leave agents behind for the next one.
    surviving_processes(runner.marker, settle_seconds=0)
