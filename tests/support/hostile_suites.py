"""Suites of agents that misbehave on purpose (tests/faults/agents/hostile.py), one case a fault,
and the budgets and bounds they run under."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.cli_runs import HOSTILE
from tests.support.files import interaction, write_suite

MB = 1 << 20
# Long enough that a loaded 2-core CI machine finishes the 16 MB stderr flood well inside it.
WALL_MS = 15000
IDLE_MS = 2500
GRACE_MS = 300
MAX_LINE = MB
MAX_TOOL_CALLS = 200
# The harness's own peak RSS while agents flood it with 16 MB of stderr, a 32 MB line and
# megabytes a second of log messages. An unbounded reader would hold the whole flood.
RSS_BOUND = 200 * MB


def hostile_suite(
    root: Path, marker: str, faults: dict[str, tuple[dict[str, Any], Any, Any]]
) -> Path:
    cases: list[dict[str, Any]] = [
        {
            "id": name,
            "cassette": "cassettes/lookup.jsonl",
            "input": {"fault": name, **params},
            "assertions": [{"type": "required_fields", "fields": ["a"]}]
            if name == "string_bomb"
            else [],
        }
        for name, (params, _, _) in faults.items()
    ]
    return write_suite(
        root,
        {
            "suite_name": "hostile",
            "agent_command": ["python3", str(HOSTILE), "--marker", marker],
            "tool_registry": ["lookup"],
            "max_line_bytes": MAX_LINE,
            "kill_grace_ms": GRACE_MS,
            "output_type": "any",  # string_bomb's output is a string, graded
            "budgets": {
                "max_wall_ms": WALL_MS,
                "max_idle_ms": IDLE_MS,
                "max_tool_calls": MAX_TOOL_CALLS,
            },
        },
        cases,
        {
            "cassettes/lookup.jsonl": [
                interaction("lookup", {"id": 1}, {"name": "Ada"}),
                interaction("lookup", {"id": 2}, {"blob": "b" * (256 << 10)}),
            ]
        },
    )
