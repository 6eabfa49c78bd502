"""Fixtures every kind of test may use (shared helpers that are not fixtures: tests.support)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.support.agent_starts import mark_slow_fork_variants


def pytest_configure(config: pytest.Config) -> None:
    # A CI runner may start the tests as a background job, whose SIGINT is ignored; every child
    # would inherit that, and the tests that press Ctrl+C on an agent or a command would test
    # the runner instead. Children of a Python handler start with the default disposition.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mark_slow_fork_variants(items)


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's cwd is its tmp_path: errors show paths relative to the cwd, so they are short
    and the same on every machine."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """harness runs on asyncio (anyio.run's default). anyio's own fixture runs async tests on
    every backend it knows before 4.12 (trio, which is not installed), and on every installed
    one after."""
    return "asyncio"
