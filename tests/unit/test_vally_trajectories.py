"""A harness trace as a Vally trajectory (harness.vally.trajectories): events in Vally's shape,
turns that end in a tool call or the answer, metrics, the end reason."""

from __future__ import annotations

from typing import Any

from harness.results import AttemptResult, Failure
from harness.vally.trajectories import build_trajectory, end_reason


def trace() -> list[dict[str, Any]]:
    return [
        {"type": "task_start", "timestamp": 0.0, "input": {}},
        {"type": "tool_call", "timestamp": 1.0, "name": "view", "call_id": "c1", "args": {"p": 1}},
        {"type": "tool_result", "timestamp": 1.5, "call_id": "c1", "ok": True, "result": "x"},
        {"type": "log", "timestamp": 2.0, "level": "info", "message": "m", "data": {"skill": "s"}},
        {"type": "log", "timestamp": 2.1, "level": "assistant", "message": "thinking"},
        {"type": "log", "timestamp": 2.2, "level": "error", "message": "oops"},
        {"type": "final_output", "timestamp": 3.0, "output": {"answer": 42}},
    ]


def test_events_turns_and_metrics() -> None:
    result = AttemptResult(case_id="c", status="pass", wall_ms=3000, tokens_in=10, tokens_out=5)
    result.tool_calls_by_name = {"view": 1}
    trajectory = build_trajectory(
        trace(), result, stimulus={"name": "s"}, work_dir=None, metadata={}
    )
    kinds = [event["type"] for event in trajectory["events"]]
    assert kinds == [
        "turn_start", "tool_call", "turn_end", "tool_result", "turn_start", "skill_activation",
        "assistant_message", "error", "assistant_message", "turn_end", "token_usage",
    ]  # fmt: skip
    call = trajectory["events"][1]
    assert call == {
        "type": "tool_call",
        "timestamp": "1970-01-01T00:00:01.000Z",
        "data": {"toolName": "view", "toolCallId": "c1", "arguments": {"p": 1}},
    }
    assert trajectory["events"][3]["data"]["toolName"] == "view"
    assert trajectory["output"] == '{"answer":42}'
    metrics = trajectory["metrics"]
    assert (metrics["turns"], metrics["toolCalls"], metrics["errors"]) == (2, 1, 1)
    assert metrics["tokenUsage"] == {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15}
    assert metrics["skillActivationCount"] == 1
    assert trajectory["endReason"] == "completed"


def test_end_reasons() -> None:
    timeout = Failure(type="budget_exceeded", message="", details={"field": "max_wall_ms"})
    calls = Failure(type="budget_exceeded", message="", details={"field": "max_tool_calls"})
    crash = Failure(type="agent_exited", message="")
    result = AttemptResult(case_id="c", status="fail", wall_ms=1)
    assert end_reason(result, answered=True) == "completed"
    result.failures = [timeout]
    assert end_reason(result, answered=False) == "agent_timeout"
    result.failures = [calls]
    assert end_reason(result, answered=False) == "budget_exceeded"
    result.failures = [crash]
    assert end_reason(result, answered=False) == "error"
