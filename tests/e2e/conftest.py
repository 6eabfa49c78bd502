"""Fixtures of the end-to-end tests; the helpers they use live in tests.support. Each test runs
with spawned and with forked agents (tests.support.agent_starts)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.agent_starts import STARTS, set_agent_start
from tests.support.cli_runs import Harness, started


@pytest.fixture(autouse=True, params=STARTS)
def agent_start(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    set_agent_start(request.param, monkeypatch)
    return str(request.param)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    # A test that failed half-way must not leave agents behind for the next one.
    with started(tmp_path) as runner:
        yield runner
