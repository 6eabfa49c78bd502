"""An attempt's result from what happened, as pure functions: the failures in the order that
decides the status, and the AttemptResult with its status, outcome and counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.attempt.conversation import Counters
from harness.attempt.spec import AttemptPlan
from harness.errors import AttemptError, BudgetExceededError
from harness.grading.engine import Grading
from harness.kinds import FailureKind, infra_failure, outcome_of, status_of
from harness.results import PASS, UNGRADED, AttemptResult, Failure


def failure_of(exc: AttemptError) -> Failure:
    """The failure an AttemptError records (a budget's limit and use as expected/observed)."""
    details = {key: value for key, value in exc.details.items() if value is not None}
    if isinstance(exc, BudgetExceededError):
        return Failure(
            type=exc.kind,
            message=exc.message,
            expected=exc.limit,
            observed=exc.used,
            details=details,
        )
    return Failure(type=exc.kind, message=exc.message, details=details or None)


def ordered_failures(
    ended_by: Failure | None,
    graded: Sequence[Failure],
    gateway: Sequence[Failure],
    usage: Sequence[Failure],
) -> list[Failure]:
    """Every failure in the order that decides the status: an unreachable live tool first (it
    is why the attempt went wrong, and the pool retries an attempt whose first failure is
    transient), then what ended the conversation, the graders', the gateway's other findings
    (strict replay, unwritten cassettes) and usage budgets found at the end."""
    transient = [f for f in gateway if f.type == FailureKind.TOOL_TRANSIENT_ERROR]
    others = [f for f in gateway if f.type != FailureKind.TOOL_TRANSIENT_ERROR]
    first = [ended_by] if ended_by is not None else []
    return [*transient, *first, *graded, *others, *usage]


@dataclass(frozen=True)
class Ending:
    """What the attempt's machinery observed, besides its failures."""

    wall_ms: int
    exit_code: int | None = None  # negative: killed by that signal
    stderr_tail: str | None = None  # the last stderr lines, when there were any
    stderr_path: str | None = None  # the stderr log, when anything was written to it
    cassette_sha256: str | None = None
    workspace: str | None = None  # a kept workspace
    retry_exit_codes: frozenset[int] = frozenset()


def build_result(
    plan: AttemptPlan,
    failures: list[Failure],
    ending: Ending,
    *,
    counters: Counters | None = None,
    graded: Grading | None = None,
    ungraded: bool = False,
) -> tuple[AttemptResult, bool]:
    """The attempt's result, and whether trying it again may help (a retryable infrastructure
    failure). `ungraded`: run with --skip-grade and nothing failed; `harness grade` decides."""
    counters = counters or Counters()
    case = plan.case
    status = UNGRADED if ungraded else status_of(failures)
    infra = infra_failure(failures, ending.retry_exit_codes)
    exit_code = ending.exit_code
    result = AttemptResult(
        case_id=case.id,
        attempt_id=plan.attempt_id,
        status=status,
        wall_ms=ending.wall_ms,
        failures=failures,
        tool_calls=counters.tool_calls,
        tool_errors=counters.tool_errors,
        tool_calls_by_name=counters.calls_by_name,
        tool_errors_by_name=counters.errors_by_name,
        assertions_total=len(case.assertions),
        assertions_failed=sum(1 for f in failures if f.type == FailureKind.ASSERTION_FAILED),
        exit_code=exit_code if exit_code is None or exit_code >= 0 else None,
        signal=-exit_code if exit_code is not None and exit_code < 0 else None,
        stderr_tail=ending.stderr_tail if status != PASS else None,
        stderr_path=ending.stderr_path,
        cassette_path=str(case.cassette_path) if case.cassette_path else None,
        cassette_sha256=ending.cassette_sha256,
        tokens_in=counters.tokens_in,
        tokens_out=counters.tokens_out,
        cost_usd=counters.cost_usd,
        steps=counters.steps,
        model=plan.model,
        trial=plan.trial,
        seed=plan.seed,
        outcome="" if ungraded else outcome_of(failures, infra),
        infra_reason=infra.reason if infra is not None else None,
        score=graded.decision.score if graded is not None else None,
        threshold=graded.decision.threshold if graded is not None else None,
        verdicts=graded.verdicts if graded is not None else [],
        workspace=ending.workspace,
    )
    return result, infra is not None and infra.retryable
