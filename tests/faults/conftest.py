"""Fixtures of the fault tests: each runs with spawned and with forked agents."""

from __future__ import annotations

import pytest

from tests.support.agent_starts import STARTS, set_agent_start


@pytest.fixture(autouse=True, params=STARTS)
def agent_start(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    set_agent_start(request.param, monkeypatch)
    return str(request.param)
