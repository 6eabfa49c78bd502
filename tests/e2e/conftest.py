"""Fixtures of the end-to-end tests; the helpers they use live in tests.support."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli_runs import Harness, started


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    # A test that failed half-way must not leave agents behind for the next one.
    with started(tmp_path) as runner:
        yield runner
