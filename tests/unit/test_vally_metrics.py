"""Vally's metric thresholds: values from recorded metrics or counted from events, the linear
score over budget, durations that must carry a unit."""

from __future__ import annotations

import pytest

from harness.grading.vally.metrics import (
    ErrorCount,
    TokenBudget,
    ToolCallCount,
    TurnCount,
    WallTime,
    budget_score,
    parse_duration,
)
from tests.support.vally_trajectories import event, grade, tool_round, trajectory


def test_budget_score_is_linear_over_the_max() -> None:
    assert budget_score(10, 10) == 1.0
    assert budget_score(15, 10) == 0.5
    assert budget_score(30, 10) == 0.0
    assert budget_score(1, 0) == 0.0
    assert budget_score(0, 0) == 1.0


@pytest.mark.parametrize(
    ("value", "seconds"), [("30s", 30.0), ("2m", 120.0), ("30000ms", 30.0), ("1h", 3600.0)]
)
def test_durations_need_a_unit(value: str, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", [120, "120", "2 minutes", "", True])
def test_durations_without_a_unit_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match="with a unit"):
        parse_duration(value)


async def test_token_budget_evidence_and_metadata() -> None:
    traj = trajectory("x", metrics={"tokenUsage": {"inputTokens": 1200, "outputTokens": 300}})
    within = await grade(TokenBudget(max=50000), traj)
    assert (within.passed, within.evidence, within.details) == (
        True,
        "1500 tokens (within budget of 50000)",
        {"value": 1500, "max": 50000},
    )
    over = await grade(TokenBudget(max=1000), traj)
    assert (over.passed, over.evidence, over.score) == (
        False,
        "1500 tokens exceeds max of 1000",
        0.5,
    )


async def test_counts_fall_back_to_the_events() -> None:
    events = [
        *tool_round("a", "1", {}, "x"),
        *tool_round("b", "2", {}, "y"),
        *tool_round("a", "3", {}, "z"),
        event("error", message="boom"),
        event("token_usage", inputTokens=10, outputTokens=5),
    ]
    traj = trajectory("x", events=events)
    assert (await grade(ToolCallCount(max=3), traj)).evidence == "3 tool calls (within budget of 3)"
    only_a = await grade(ToolCallCount(max=1, tools=["a"]), traj)
    assert (only_a.passed, only_a.evidence) == (False, "2 tool calls exceeds max of 1")
    assert (await grade(TurnCount(max=2), traj)).evidence == "3 turns exceeds max of 2"
    assert (await grade(ErrorCount(max=0), traj)).score == 0.0
    assert (await grade(TokenBudget(max=15), traj)).passed


async def test_wall_time() -> None:
    traj = trajectory("x", metrics={"wallTimeMs": 8300})
    result = await grade(WallTime(max="2m"), traj)
    assert (result.passed, result.evidence) == (True, "8.3s (within budget of 2m)")
    slow = await grade(WallTime(max="5s"), traj)
    assert (slow.passed, slow.evidence) == (False, "8.3s exceeds max of 5s")
    unknown = await grade(WallTime(max="5s"), trajectory("x"))
    assert unknown.status == "error"
