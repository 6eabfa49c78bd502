"""Sweep suites: each case's agent (tests/agents/sweep_agent.py) plays one outcome a trial, per
model, from a string of letters (P pass, F fail, B budget, E infrastructure error, ...)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from tests.support.cli_runs import REPO
from tests.support.files import write_suite

SWEEP_AGENT = REPO / "tests" / "agents" / "sweep_agent.py"


def sweep_suite(root: Path, outcomes: dict[str, dict[str, str]], **settings: Any) -> Path:
    """One case per entry of `outcomes`: case id -> {model: letters}."""
    state = root / "state"
    state.mkdir(parents=True, exist_ok=True)
    suite = {
        "suite_name": "sweep",
        "agent_command": [sys.executable, str(SWEEP_AGENT)],
        "assertions": [{"type": "required_fields", "fields": ["answer"]}],
        "budgets": {"max_tokens_out": 100, "max_wall_ms": 20000},
        "retry": {"initial_backoff_ms": 10, "max_backoff_ms": 40, "exit_codes": [75]},
        "kill_grace_ms": 500,
        **settings,
    }
    cases = [
        {"id": case_id, "input": {"outcomes": letters, "state_dir": str(state)}}
        for case_id, letters in outcomes.items()
    ]
    return write_suite(root / "suite", suite, cases)
