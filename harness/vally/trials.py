"""Grading one trial: its Vally trajectory through the stimulus's graders (with the workspace,
the diff snapshot and the judge at hand), and the harness result that grading decides."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from harness.grading.context import GradingContext, JudgeSettings, ToolCall
from harness.grading.engine import GRADING_FAILURES, Grading, grade_attempt
from harness.grading.vally.judges import JudgeConfig
from harness.grading.vally.trajectory import (
    BASELINE_KEY,
    JUDGE_KEY,
    STIMULUS_KEY,
    TRAJECTORY_KEY,
    Trajectory,
)
from harness.kinds import FailureKind, infra_failure, outcome_of, status_of
from harness.results import INFRA_ERROR, AttemptResult
from harness.vally.model import Stimulus


async def grade_trajectory(
    stimulus: Stimulus,
    trajectory: Mapping[str, Any],
    *,
    workspace: Path | None,
    baseline: Path | None,
    judge: JudgeConfig,
    threshold: float | None,
    workspace_note: str | None = None,
) -> Grading:
    """Every grader of the stimulus over one trajectory, decided as Vally scores a trial.
    `workspace` must exist (None, with `workspace_note` saying why, when it does not)."""
    view = Trajectory(trajectory)
    calls = tuple(
        ToolCall(use.name, use.arguments, use.index, use.call_id, use.success, use.result)
        for use in view.tool_uses()
    )
    context = GradingContext(
        output=view.output,
        calls=calls,
        steps=view.turn_count(),
        input=stimulus.prompt,
        case_id=stimulus.name,
        workspace=workspace,
        workspace_note=workspace_note,
        judge=JudgeSettings(model=judge.model),
        meta={
            TRAJECTORY_KEY: trajectory,
            STIMULUS_KEY: stimulus.payload(),
            JUDGE_KEY: judge,
            BASELINE_KEY: str(baseline) if baseline is not None else None,
        },
    )
    return await grade_attempt(stimulus.graders, context, threshold=threshold)


def graded(result: AttemptResult, grading: Grading) -> AttemptResult:
    """The attempt's result as grading decides it (failures grading did not make are kept; an
    attempt the machinery lost stays lost)."""
    kept = [f for f in result.failures if f.type not in GRADING_FAILURES]
    failures = kept + grading.failures
    infra = infra_failure(failures)
    outcome = outcome_of(failures, infra)
    if failures and result.outcome == INFRA_ERROR:
        outcome = INFRA_ERROR
    return msgspec.structs.replace(
        result,
        status=status_of(failures),
        failures=failures,
        outcome=outcome,
        infra_reason=infra.reason if infra is not None else result.infra_reason,
        assertions_total=len(grading.verdicts),
        assertions_failed=sum(1 for f in failures if f.type == FailureKind.ASSERTION_FAILED),
        score=grading.decision.score,
        threshold=grading.decision.threshold,
        verdicts=grading.verdicts,
    )
