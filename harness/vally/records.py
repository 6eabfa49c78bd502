"""One `results.jsonl` line per trial, in the shape Vally's users read: `type: trial-result`,
`status` (`success`: the executor returned a trajectory; `error`: it did not), `gradeResult`
(`passed`, `score`, each grader's evidence) and the `trajectory`. harness adds a `harness`
block: the attempt's outcome, whether it counts as a trial, its retries and failures."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from harness.grading.engine import Grading
from harness.results import INFRA_ERROR, AttemptResult
from harness.storage.runs import to_builtins

TRIAL_RESULT = "trial-result"


@dataclass(frozen=True)
class Slot:
    """Which trial a record is: every planned slot gets exactly one record."""

    eval_name: str
    eval_file: str
    variant: str | None
    model: str | None
    stimulus: str
    trial_index: int  # 0-based, as Vally counts

    @property
    def key(self) -> str:
        parts = [self.eval_file, self.variant or "", self.model or "", self.stimulus]
        return "::".join([*parts, str(self.trial_index)])

    @property
    def group(self) -> tuple[str, str | None, str | None, str]:
        """The (eval, variant, model, stimulus) whose trials are tallied together."""
        return (self.eval_name, self.variant, self.model, self.stimulus)


def grade_result(stimulus: str, grading: Grading | None) -> dict[str, Any] | None:
    """Vally's `gradeResult`: the weighted score, the verdict, each grader's evidence."""
    if grading is None:
        return None
    decision = grading.decision
    return {
        "stimulusName": stimulus,
        "passed": decision.status == "pass",
        "score": decision.score if decision.score is not None else 0.0,
        "threshold": decision.threshold,
        "status": decision.status,
        "evidence": decision.evidence,
        "graders": [
            {
                "name": verdict.label,
                "type": verdict.grader,
                "passed": verdict.passed,
                "status": verdict.status,
                "score": verdict.effective_score(),
                "weight": verdict.weight,
                "evidence": verdict.evidence,
                "metadata": to_builtins(verdict.details) if verdict.details else None,
            }
            for verdict in grading.verdicts
        ],
    }


def trial_record(
    slot: Slot,
    result: AttemptResult,
    trajectory: Mapping[str, Any],
    grading: Grading | None,
    *,
    run_id: str,
    experiment: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    answered = trajectory.get("endReason") == "completed"
    error = None if answered else _error_text(result)
    record: dict[str, Any] = {
        "type": TRIAL_RESULT,
        "runId": run_id,
        "evalName": slot.eval_name,
        "evalFilePath": slot.eval_file,
        "variant": slot.variant,
        "model": slot.model,
        "stimulusName": slot.stimulus,
        "trialIndex": slot.trial_index,
        "shardKey": slot.key,
        "status": "success" if answered else "error",
        "error": error,
        "durationMs": result.wall_ms,
        "gradeResult": grade_result(slot.stimulus, grading),
        "trajectory": dict(trajectory),
        "harness": harness_block(result),
    }
    if experiment is not None:
        record["experiment"] = dict(experiment)
    return record


def harness_block(result: AttemptResult) -> dict[str, Any]:
    return {
        "attemptId": result.attempt_id,
        "outcome": result.outcome or ("ungraded" if result.status == "ungraded" else ""),
        "counted": result.outcome not in (INFRA_ERROR, ""),
        "infraReason": result.infra_reason,
        "retries": to_builtins(result.retries),
        "failures": to_builtins(result.failures),
        "seed": result.seed,
        "exitCode": result.exit_code,
        "stderrPath": result.stderr_path,
        "cassetteSha256": result.cassette_sha256,
        "startedAt": result.started_at,
    }


def _error_text(result: AttemptResult) -> str:
    if not result.failures:
        return "the agent sent no final answer"
    first = result.failures[0]
    return f"{first.type}: {first.message}"


def encode(record: Mapping[str, Any]) -> bytes:
    return msgspec.json.encode(record) + b"\n"
