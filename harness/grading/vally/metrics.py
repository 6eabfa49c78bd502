"""Vally's metric thresholds: token-budget, tool-call-count, turn-count, error-count and
wall-time, each against a required `max`. Post-hoc checks, as in Vally (harness's live
budgets are the `constraints`). Within budget scores 1; over it the score falls linearly:
`max(0, 1 - (value - max) / max(max, 1))`."""

from __future__ import annotations

import math
import re
from typing import Any

from harness.config.schema import GraderSpec
from harness.grading.context import GradingContext
from harness.grading.preparation import Preparation
from harness.grading.vally.trajectory import Trajectory, trajectory_of
from harness.grading.verdict import Verdict, verdict

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: Any) -> float:
    """Seconds in a Vally duration. The unit is required (`30s`, `2m`, `30000ms`, `1h`), as
    Vally requires it: a bare number is ambiguous (seconds? milliseconds?).

    Raises:
        ValueError: not a duration with a unit.
    """
    found = _DURATION.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        hint = f"; write {value}s or {value}ms" if isinstance(value, int | float) else ""
        raise ValueError(f"expected a duration with a unit (30s, 2m, 30000ms), got {value!r}{hint}")
    seconds = float(found[1]) * _UNIT_SECONDS[found[2]]
    if not math.isfinite(seconds):
        raise ValueError(f"not a finite duration: {value!r}")
    return seconds


def format_seconds(seconds: float) -> str:
    return f"{seconds:.1f}s" if seconds < 60 else f"{seconds / 60:.1f}m"


class _Max(GraderSpec, frozen=True, kw_only=True):
    max: int


class TokenBudget(_Max, frozen=True, tag="token-budget"):
    pass


class ToolCallCount(_Max, frozen=True, tag="tool-call-count"):
    tools: list[str] | None = None  # count only these tools' calls


class TurnCount(_Max, frozen=True, tag="turn-count"):
    pass


class ErrorCount(_Max, frozen=True, tag="error-count"):
    pass


class WallTime(GraderSpec, frozen=True, kw_only=True, tag="wall-time"):
    max: str  # a duration: 30s, 2m, 1h


def budget_score(value: float, limit: float) -> float:
    if value <= limit:
        return 1.0
    return max(0.0, 1.0 - (value - limit) / max(limit, 1.0))


def _measure(spec: Any, trajectory: Trajectory) -> tuple[float, str]:
    if isinstance(spec, TokenBudget):
        return trajectory.total_tokens(), "tokens"
    if isinstance(spec, ToolCallCount):
        return trajectory.tool_call_count(spec.tools), "tool calls"
    if isinstance(spec, TurnCount):
        return trajectory.turn_count(), "turns"
    return trajectory.error_count(), "errors"


def grade_count(spec: _Max, context: GradingContext) -> Verdict:
    value, unit = _measure(spec, trajectory_of(context))
    shown = f"{int(value)} {unit}"
    if value <= spec.max:
        evidence = f"{shown} (within budget of {spec.max})"
    else:
        evidence = f"{shown} exceeds max of {spec.max}"
    metadata = {"value": int(value), "max": spec.max}
    score = budget_score(value, spec.max)
    return verdict(spec, value <= spec.max, evidence, score=score, details=metadata)


def grade_wall_time(spec: WallTime, context: GradingContext) -> Verdict:
    limit = parse_duration(spec.max)
    seconds = trajectory_of(context).wall_time_ms() / 1000
    shown = format_seconds(seconds)
    if seconds <= limit:
        evidence = f"{shown} (within budget of {spec.max})"
    else:
        evidence = f"{shown} exceeds max of {spec.max}"
    metadata = {"value": round(seconds * 1000), "max": round(limit * 1000)}
    score = budget_score(seconds, limit)
    return verdict(spec, seconds <= limit, evidence, score=score, details=metadata)


def prepare_max(spec: Any, where: Preparation) -> Any:
    if isinstance(spec, WallTime):
        try:
            parse_duration(spec.max)
        except ValueError as exc:
            where.error(str(exc), "max")
    elif spec.max < 0:
        where.error(f"must be a non-negative integer, got {spec.max}", "max")
    if isinstance(spec, ToolCallCount) and spec.tools is not None and not spec.tools:
        where.error("must name at least one tool, or be left out", "tools")
    return spec
