"""What graders look at (harness.grading.context): a trace's events read as an ordered call
list."""

from __future__ import annotations

from typing import Any

from harness.grading.context import calls_from_events


def test_calls_from_events_pairs_results_by_id_in_call_order() -> None:
    events: list[dict[str, Any]] = [
        {"type": "task_start", "input": 1},
        {"type": "tool_call", "name": "a", "call_id": 1, "args": {}},
        {"type": "tool_call", "name": "b", "call_id": "1", "args": {"x": 2}},
        {"type": "tool_result", "call_id": "1", "ok": False, "result": None, "error": "no"},
        {"type": "tool_result", "call_id": 1, "ok": True, "result": 5, "error": None},
        {"type": "log", "message": "hi"},
        {"type": "tool_call", "name": "c", "call_id": 3, "args": {}},
        {"type": "final_output", "output": "x"},
    ]
    calls, steps = calls_from_events(events)
    assert [(c.name, c.ok, c.result, c.error) for c in calls] == [
        ("a", True, 5, None),
        ("b", False, None, "no"),
        ("c", None, None, None),
    ]
    assert steps == 5
