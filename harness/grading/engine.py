"""The grading entry point: run a case's graders over one attempt, decide, and describe the
outcome as the `Failure`s an attempt result carries."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from harness.config.schema import Case, GraderSpec
from harness.grading.catalogue import grader_of
from harness.grading.context import GradingContext, JudgeSettings, context_from_events
from harness.grading.scoring import Decision, decide
from harness.grading.verdict import (
    ERRORED,
    FAILED,
    PASSED,
    UNCERTAIN,
    GraderError,
    Verdict,
    with_status,
)
from harness.kinds import FailureKind
from harness.results import Failure

# Failure types grading adds; a regrade replaces exactly these and keeps every other failure.
GRADER_ERROR = FailureKind.GRADER_ERROR
JUDGE_UNCERTAIN = FailureKind.JUDGE_UNCERTAIN
BELOW_THRESHOLD = FailureKind.SCORE_BELOW_THRESHOLD
ASSERTION_FAILED = FailureKind.ASSERTION_FAILED
GRADING_FAILURES = frozenset({GRADER_ERROR, JUDGE_UNCERTAIN, BELOW_THRESHOLD, ASSERTION_FAILED})


class Grading(msgspec.Struct):  # a Struct: cheaper to define than a dataclass
    """The graders' verdicts on one attempt and what they add up to."""

    verdicts: list[Verdict]
    decision: Decision
    failures: list[Failure] = msgspec.field(default_factory=list)

    @property
    def failing(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.status != PASSED]


async def grade_attempt(
    specs: Sequence[GraderSpec], context: GradingContext, *, threshold: float | None = None
) -> Grading:
    """Run every grader in order (they may share a workspace, so one at a time)."""
    verdicts = [await run_grader(spec, context) for spec in specs]
    decision = decide(verdicts, threshold)
    return Grading(verdicts, decision, failures_for(verdicts, decision))


async def run_grader(spec: GraderSpec, context: GradingContext) -> Verdict:
    grader = grader_of(spec)
    try:
        result: Any = grader.grade(spec, context)
        if inspect.isawaitable(result):
            result = await result
    except GraderError as exc:
        return with_status(spec, ERRORED, str(exc))
    except Exception as exc:  # a crashing grader (a plugin's bug) is infrastructure, isolated
        return with_status(spec, ERRORED, f"grader crashed: {type(exc).__name__}: {exc}")
    if not isinstance(result, Verdict):
        return with_status(spec, ERRORED, f"grader returned {type(result).__name__}, not a Verdict")
    return result


def failures_for(verdicts: Sequence[Verdict], decision: Decision) -> list[Failure]:
    """Graders that could not run first (they make the attempt an error), then split votes,
    the threshold, and the failed graders in their order."""
    if decision.status == PASSED:
        return []
    failures = [
        Failure(type=GRADER_ERROR, message=f"{v.label}: {v.evidence}")
        for v in verdicts
        if v.status == ERRORED
    ]
    failures += [
        Failure(type=JUDGE_UNCERTAIN, message=v.evidence, details=_details(v))
        for v in verdicts
        if v.status == UNCERTAIN
    ]
    if decision.status == FAILED and decision.threshold is not None and decision.score is not None:
        failures.append(
            Failure(
                type=BELOW_THRESHOLD,
                message=decision.evidence,
                expected=decision.threshold,
                observed=round(decision.score, 6),
                details={"scores": {v.label: v.effective_score() for v in verdicts}},
            )
        )
    failures += [
        Failure(
            type=ASSERTION_FAILED,
            message=v.evidence,
            expected=v.expected,
            observed=v.observed,
            details=_details(v),
        )
        for v in verdicts
        if v.status == FAILED
    ]
    return failures


def _details(v: Verdict) -> dict[str, Any]:
    details: dict[str, Any] = {"assertion": v.grader}
    if v.name:
        details["name"] = v.name
    if v.score is not None:
        details["score"] = v.score
    return {**details, **(v.details or {})}


@dataclass(frozen=True)
class GradeOptions:
    """Run-wide grading settings: the command line's word over the suite's."""

    skip: bool = False  # --skip-grade: store attempts, grade later with `harness grade`
    threshold: float | None = None  # --threshold, over the case's and the suite's
    judge: JudgeSettings = field(default_factory=JudgeSettings)


async def grade_case(
    case: Case,
    events: Sequence[Mapping[str, Any]],
    *,
    options: GradeOptions,
    workspace: Path | None,
    workspace_note: str | None = None,
) -> Grading | None:
    """Grade one attempt of `case` from its trace; None when it has no final output."""
    context, _ = context_from_events(
        events,
        case_id=case.id,
        workspace=workspace,
        workspace_note=workspace_note,
        judge=options.judge,
        schemas=case.schemas,
    )
    if context is None:
        return None
    threshold = options.threshold if options.threshold is not None else case.threshold
    return await grade_attempt(case.assertions, context, threshold=threshold)


def failure_rows(verdicts: Sequence[Verdict]) -> list[dict[str, Any]]:
    """Failing verdicts in the shape run.jsonl's `assertion_failure` event always had."""
    return [
        {
            "type": v.grader,
            "message": v.evidence,
            "expected": v.expected,
            "observed": v.observed,
            "details": v.details,
            "status": v.status,
        }
        for v in verdicts
    ]
