"""Every end-to-end and fault test runs its agents both ways harness starts a fresh process per
attempt: spawned (`agent_reuse` as the suite says) and forked from a fork server
(HARNESS_AGENT_REUSE=fork, the default for suites that do not set agent_reuse).

`make test` runs the fork variants of the modules below (representative: replay through the
CLI, failure kinds, a shell agent that falls back to spawning, hostile agents, isolation);
the fork variants of every other module are marked slow (`pytest -m slow` runs them).
"""

from __future__ import annotations

import pytest

STARTS = ("spawn", "fork")
FORK_IN_MAKE_TEST = frozenset(
    {
        "test_cli_replay.py",
        "test_failures_suite.py",
        "test_shell_agent.py",
        "test_hostile_agents.py",
        "test_isolation.py",
    }
)


def set_agent_start(start: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if start == "fork":
        monkeypatch.setenv("HARNESS_AGENT_REUSE", "fork")
    else:
        monkeypatch.delenv("HARNESS_AGENT_REUSE", raising=False)


def mark_slow_fork_variants(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None or callspec.params.get("agent_start") != "fork":
            continue
        if item.path.name not in FORK_IN_MAKE_TEST:
            item.add_marker(pytest.mark.slow)
