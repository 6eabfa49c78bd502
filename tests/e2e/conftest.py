"""Fixtures of the end-to-end tests; the helpers they use live in tests.support. Each test runs
with spawned and with forked agents (tests.support.agent_starts)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.agent_starts import STARTS, set_agent_start
from tests.support.cli_runs import Harness, started
from tests.support.serve_runs import ServedRuns, make_runs


@pytest.fixture(autouse=True, params=STARTS)
def agent_start(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    set_agent_start(request.param, monkeypatch)
    return str(request.param)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    # A test that failed half-way must not leave agents behind for the next one.
    with started(tmp_path) as runner:
        yield runner


@pytest.fixture(scope="session")
def dashboard_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedRuns]:
    """Two real runs of the shop sweep (tests.support.serve_runs), made once per session: the
    serve tests only read them (a test that writes copies them first)."""
    root = tmp_path_factory.mktemp("dashboard")
    with started(root) as runner:
        yield make_runs(runner, root)
