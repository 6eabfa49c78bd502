"""Vally's LLM graders through a real judge command (tests/agents/vally_judge.py): prompt on each
scale, panel aggregation with a failing judge left out, pairwise with positions swapped."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harness.grading.vally.judges import JudgeConfig, Pairwise, Panel, Prompt, compare_pair
from harness.grading.vally.trajectory import JUDGE_KEY, Trajectory
from tests.support.vally_trajectories import grade, trajectory

JUDGE = [sys.executable, str(Path(__file__).parents[1] / "agents" / "vally_judge.py")]


def meta(model: str | None = None) -> dict[str, object]:
    return {JUDGE_KEY: JudgeConfig(command=JUDGE, model=model)}


@pytest.mark.parametrize(
    ("output", "scoring", "score", "passed"),
    [
        ("GOOD", "scale_1_5", 1.0, True),
        ("meh", "scale_1_5", 0.5, True),
        ("BAD", "scale_1_10", 0.0, False),
        ("meh", "binary", 0.0, False),
    ],
)
async def test_prompt_normalizes_the_scale(
    output: str, scoring: str, score: float, passed: bool
) -> None:
    spec = Prompt(scoring=scoring)  # type: ignore[arg-type]
    result = await grade(spec, trajectory(output), meta=meta("judge-x"))
    assert (result.score, result.passed) == (score, passed)
    assert result.evidence.startswith(f"Judge (judge-x) scored {score:.2f} (threshold 0.5)")


async def test_prompt_model_priority_and_missing_judge() -> None:
    result = await grade(Prompt(model="spec-model"), trajectory("GOOD"), meta=meta("cli-model"))
    assert result.details is not None and result.details["model"] == "spec-model"
    default = await grade(Prompt(), trajectory("GOOD"), meta=meta())
    assert default.details is not None and default.details["model"] == "claude-sonnet-4.6"
    missing = await grade(Prompt(), trajectory("GOOD"))
    assert missing.status == "error"
    assert "no judge command" in missing.evidence


async def test_panel_isolates_a_failing_judge() -> None:
    spec = Panel(models=["a", "broken", "b"], aggregation="min")
    result = await grade(spec, trajectory("GOOD"), meta=meta())
    assert (result.passed, result.score) == (True, 1.0)
    assert "1 judge(s) failed and were left out: broken" in result.evidence
    everyone = await grade(Panel(models=["broken"]), trajectory("GOOD"), meta=meta())
    assert everyone.status == "error"
    majority = Panel(models=["a", "b", "c"], aggregation="majority")
    assert not (await grade(majority, trajectory("BAD"), meta=meta())).passed


async def test_pairwise_swaps_positions() -> None:
    judge = JudgeConfig(command=JUDGE)
    stimulus = {"name": "s", "prompt": "p"}
    better = await compare_pair(
        Pairwise(), judge, stimulus, Trajectory(trajectory("ok")), Trajectory(trajectory("GOOD"))
    )
    assert (better["winner"], better["score"], better["consistent"]) == ("treatment", 0.0, True)
    tie = await compare_pair(
        None, judge, stimulus, Trajectory(trajectory("x")), Trajectory(trajectory("y"))
    )
    assert (tie["winner"], tie["score"]) == ("tie", 0.5)
    pairwise_at_eval = await grade(Pairwise(), trajectory("x"), meta=meta())
    assert pairwise_at_eval.status == "error"
