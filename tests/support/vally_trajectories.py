"""Vally trajectories for grader tests, and grading one through harness's grader engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.config.schema import GraderSpec
from harness.grading.context import GradingContext
from harness.grading.engine import run_grader
from harness.grading.vally.catalogue import ensure_registered
from harness.grading.vally.trajectory import STIMULUS_KEY, TRAJECTORY_KEY
from harness.grading.verdict import Verdict


def event(kind: str, **data: Any) -> dict[str, Any]:
    return {"type": kind, "timestamp": "2026-01-01T00:00:00.000Z", "data": data}


def tool_round(name: str, call_id: str, args: dict[str, Any], result: Any) -> list[dict[str, Any]]:
    """One turn that ends in a tool call, and the tool's result."""
    return [
        event("turn_start", turnId=call_id),
        event("tool_call", toolName=name, toolCallId=call_id, arguments=args),
        event("turn_end", turnId=call_id),
        event("tool_result", toolName=name, toolCallId=call_id, success=True, result=result),
    ]


def trajectory(
    output: str = "", events: list[dict[str, Any]] | None = None, **fields: Any
) -> dict[str, Any]:
    """A trajectory whose last turn answers `output` (unless events are given)."""
    if events is None:
        events = [
            event("turn_start", turnId="t"),
            event("assistant_message", content=output),
            event("turn_end", turnId="t"),
        ]
    return {"id": "t1", "output": output, "events": events, "metrics": {}, **fields}


async def grade(
    spec: GraderSpec,
    traj: dict[str, Any],
    workspace: Path | None = None,
    meta: dict[str, Any] | None = None,
) -> Verdict:
    ensure_registered()
    context = GradingContext(
        output=traj.get("output"),
        workspace=workspace,
        meta={TRAJECTORY_KEY: traj, STIMULUS_KEY: {"name": "s", "prompt": "p"}, **(meta or {})},
    )
    return await run_grader(spec, context)
