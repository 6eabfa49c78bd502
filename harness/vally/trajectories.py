"""A harness attempt as a Vally trajectory: the trace's events in Vally's shape
(`{type, timestamp, data}`), the metrics Vally computes, the output as text.

Turns: a turn is one step of the agent that ends in a tool call or in its final answer, so a
trial that calls three tools and answers has four. An agent reports what the protocol cannot
say by itself with `log` messages: level `assistant` is an assistant message, level `error` an
error event, `data.skill` names a skill it activated. Token usage is one `token_usage` event
with the trial's totals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from harness.grading.context import output_text
from harness.kinds import FailureKind
from harness.results import AttemptResult

WALL_BUDGET = "max_wall_ms"


def _timestamp(value: Any) -> str:
    seconds = value if isinstance(value, int | float) else 0.0
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class _Events:
    """Vally events built in order, with the turn bookkeeping."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.turn = 0
        self.open = False
        self.names: dict[str, str] = {}  # call id -> tool name

    def add(self, event_type: str, at: Any, **data: Any) -> None:
        self.items.append({"type": event_type, "timestamp": _timestamp(at), "data": data})

    def start_turn(self, at: Any) -> None:
        if not self.open:
            self.turn += 1
            self.open = True
            self.add("turn_start", at, turnId=f"turn-{self.turn}")

    def end_turn(self, at: Any) -> None:
        if self.open:
            self.open = False
            self.add("turn_end", at, turnId=f"turn-{self.turn}")


def vally_events(trace: Iterable[Mapping[str, Any]], result: AttemptResult) -> list[dict[str, Any]]:
    events = _Events()
    last: Any = None
    for item in trace:
        kind, at = item.get("type"), item.get("timestamp")
        last = at
        if kind == "task_start":
            events.start_turn(at)
        elif kind == "tool_call":
            call_id = str(item.get("call_id"))
            events.names[call_id] = str(item.get("name"))
            events.start_turn(at)
            events.add(
                "tool_call",
                at,
                toolName=item.get("name"),
                toolCallId=item.get("call_id"),
                arguments=item.get("args"),
            )
            events.end_turn(at)
        elif kind == "tool_result":
            name = events.names.get(str(item.get("call_id")), "")
            result_value = item.get("result") if item.get("ok") else item.get("error")
            events.add(
                "tool_result",
                at,
                toolName=name,
                toolCallId=item.get("call_id"),
                success=bool(item.get("ok")),
                result=result_value,
            )
            events.start_turn(at)
        elif kind == "log":
            _log(events, item, at)
        elif kind == "final_output":
            events.start_turn(at)
            events.add("assistant_message", at, content=output_text(item.get("output")))
            events.end_turn(at)
        elif kind in ("task_error", "attempt_error"):
            events.add(
                "error", at, message=item.get("message"), kind=item.get("failure_type", kind)
            )
    if result.tokens_in is not None or result.tokens_out is not None:
        events.add(
            "token_usage",
            last,
            inputTokens=result.tokens_in or 0,
            outputTokens=result.tokens_out or 0,
            model=result.model,
        )
    return events.items


def _log(events: _Events, item: Mapping[str, Any], at: Any) -> None:
    data = item.get("data")
    if isinstance(data, Mapping) and isinstance(data.get("skill"), str):
        events.add("skill_activation", at, skillName=data["skill"])
    elif item.get("level") == "assistant":
        events.add("assistant_message", at, content=item.get("message"))
    elif item.get("level") == "error":
        events.add("error", at, message=item.get("message"), kind="agent_log")
    else:
        events.add("log", at, level=item.get("level"), message=item.get("message"))


def end_reason(result: AttemptResult, answered: bool) -> str:
    """How the agent loop ended: completed, agent_timeout, budget_exceeded or error."""
    if answered:
        return "completed"
    for failure in result.failures:
        if failure.type == FailureKind.BUDGET_EXCEEDED:
            field = (failure.details or {}).get("field")
            return "agent_timeout" if field == WALL_BUDGET else "budget_exceeded"
    return "error"


def metrics_of(events: list[dict[str, Any]], result: AttemptResult) -> dict[str, Any]:
    def count(kind: str) -> int:
        return sum(1 for event in events if event["type"] == kind)

    tokens_in, tokens_out = result.tokens_in or 0, result.tokens_out or 0
    return {
        "wallTimeMs": result.wall_ms,
        "tokenUsage": {
            "inputTokens": tokens_in,
            "outputTokens": tokens_out,
            "totalTokens": tokens_in + tokens_out,
        },
        "turns": count("turn_end"),
        "toolCalls": count("tool_call"),
        "toolCallsByName": dict(result.tool_calls_by_name),
        "errors": count("error"),
        "skillActivationCount": count("skill_activation"),
        "costUsd": result.cost_usd,
    }


def build_trajectory(
    trace: Sequence[Mapping[str, Any]],
    result: AttemptResult,
    *,
    stimulus: Mapping[str, Any],
    work_dir: str | None,
    metadata: Mapping[str, Any],
) -> dict[str, Any]:
    """The trajectory Vally would record for this attempt."""
    finals = [item for item in trace if item.get("type") == "final_output"]
    events = vally_events(trace, result)
    return {
        "id": result.attempt_id or result.case_id,
        "stimulus": dict(stimulus),
        "events": events,
        "metrics": metrics_of(events, result),
        "output": output_text(finals[-1].get("output")) if finals else "",
        "workDir": work_dir,
        "metadata": dict(metadata),
        "workspaceStatus": "local",
        "endReason": end_reason(result, bool(finals)),
    }
