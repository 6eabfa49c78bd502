"""harness.attempt.build: an attempt's result from what happened, with no agent and no process.
Status, outcome, infra_reason and retryable for every failure kind of harness.kinds (the first
failure decides; a tainting kind counts anywhere); the order failures are listed in; what an
AttemptError records; the counts and fields a result carries."""

from __future__ import annotations

import errno
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.attempt.budgets import LiveBudget
from harness.attempt.build import Ending, build_result, failure_of, ordered_failures
from harness.attempt.conversation import Counters
from harness.attempt.spec import AttemptPlan
from harness.attempt.workspace import WorkspaceError
from harness.config.schema import Budgets, Case, GraderSpec, MustCallAssertion
from harness.errors import (
    AgentCrashedError,
    AgentProtocolError,
    AttemptError,
    BudgetExceededError,
    CassetteError,
    CassetteMissError,
    SpawnError,
    TaskError,
    ToolNotAllowedError,
)
from harness.grading.engine import Grading
from harness.grading.scoring import Decision
from harness.kinds import FailureKind
from harness.results import Failure, Verdict

K = FailureKind


def plan(
    *assertions: GraderSpec,
    cassette: Path | None = None,
    model: str | None = None,
    trial: int | None = None,
    seed: int | None = None,
) -> AttemptPlan:
    case = Case(
        id="c1",
        input={},
        cassette_path=cassette,
        file=Path("cases/c1.yaml"),
        line=1,
        description=None,
        assertions=assertions,
        budgets=Budgets(),
        normalization=None,
        schemas={},
    )
    return AttemptPlan("c1/m/1", case, model=model, trial=trial, seed=seed)


def failure(kind: str, **details: Any) -> Failure:
    return Failure(type=kind, message=f"{kind} happened", details=details or None)


def exited(status: int) -> Failure:
    return failure(K.AGENT_EXITED, exit_code=status)


@dataclass(frozen=True)
class Row:
    failures: list[Failure]
    status: str
    outcome: str
    infra_reason: str | None = None
    retryable: bool = False
    retry_exit_codes: frozenset[int] = frozenset()


def fails(kind: str) -> Row:
    return Row([failure(kind)], "fail", "failed")


def errs(kind: str) -> Row:
    """An error that is the agent's outcome: judged, never retried."""
    return Row([failure(kind)], "error", "failed")


def infra(kind: str, reason: str, retryable: bool = False) -> Row:
    return Row([failure(kind)], "error", "infra_error", reason, retryable)


SIGKILL, SIGSEGV = int(signal.SIGKILL), int(signal.SIGSEGV)

ROWS: dict[str, Row] = {
    "nothing failed": Row([], "pass", "passed"),
    # The agent's own failures: status fail.
    "agent_error": fails(K.AGENT_ERROR),
    "budget_exceeded": Row([failure(K.BUDGET_EXCEEDED)], "fail", "budget_exceeded"),
    "cassette_mismatch": fails(K.CASSETTE_MISMATCH),
    "cassette_unused": fails(K.CASSETTE_UNUSED),
    "cassette_out_of_order": fails(K.CASSETTE_OUT_OF_ORDER),
    "cassette_overused": fails(K.CASSETTE_OVERUSED),
    "tool_not_allowed": fails(K.TOOL_NOT_ALLOWED),
    "assertion_failed": fails(K.ASSERTION_FAILED),
    "judge_uncertain": fails(K.JUDGE_UNCERTAIN),
    "score_below_threshold": fails(K.SCORE_BELOW_THRESHOLD),
    "model_miss": fails(K.MODEL_MISS),
    "a kind harness does not know": fails("written_by_another_tool"),
    # Errors that are still the agent's outcome.
    "protocol_error": errs(K.PROTOCOL_ERROR),
    "cassette_error": errs(K.CASSETTE_ERROR),
    "cassette_not_written": errs(K.CASSETTE_NOT_WRITTEN),
    "task_error": errs(K.TASK_ERROR),
    "task_error, retryable not true": Row(
        [failure(K.TASK_ERROR, data={"retryable": "yes"})], "error", "failed"
    ),
    "agent_exited with a status": Row([exited(1)], "error", "failed"),
    "agent_exited by its own SIGSEGV": Row([exited(-SIGSEGV)], "error", "failed"),
    "agent_exited, status not in retry.exit_codes": Row(
        [exited(75)], "error", "failed", retry_exit_codes=frozenset({76})
    ),
    "agent_exited without a status": errs(K.AGENT_EXITED),
    # Infrastructure: never a trial.
    "tool_transient_error": infra(K.TOOL_TRANSIENT_ERROR, "live tool transient error", True),
    "grader_error": infra(K.GRADER_ERROR, "grader error"),
    "workspace_error": infra(K.WORKSPACE_ERROR, "workspace_error"),
    "internal_error": infra(K.INTERNAL_ERROR, "internal_error"),
    "fork_server_lost": infra(K.FORK_SERVER_LOST, "fork_server_lost", True),
    "model_upstream_error": infra(K.MODEL_UPSTREAM_ERROR, "model upstream error", True),
    "model_key_refused": infra(K.MODEL_KEY_REFUSED, "model provider refused the key"),
    "spawn_error, transient errno": Row(
        [failure(K.SPAWN_ERROR, errno=errno.EAGAIN)],
        "error",
        "infra_error",
        "spawn failure (EAGAIN)",
        retryable=True,
    ),
    "spawn_error: only the first failure decides": Row(
        [failure(K.SPAWN_ERROR, errno=errno.EMFILE), failure(K.SPAWN_ERROR, errno=errno.ENOENT)],
        "error",
        "infra_error",
        "spawn failure (EMFILE)",
        retryable=True,
    ),
    "spawn_error, ENOENT": Row(
        [failure(K.SPAWN_ERROR, errno=errno.ENOENT)],
        "error",
        "infra_error",
        "spawn failure (ENOENT)",
    ),
    "spawn_error, EACCES": Row(
        [failure(K.SPAWN_ERROR, errno=errno.EACCES)],
        "error",
        "infra_error",
        "spawn failure (EACCES)",
    ),
    "spawn_error, no errno": infra(K.SPAWN_ERROR, "spawn failure (unknown)"),
    "spawn_error, an errno no name has": Row(
        [failure(K.SPAWN_ERROR, errno=99999)], "error", "infra_error", "spawn failure (99999)"
    ),
    "agent_exited by SIGKILL (the OOM killer)": Row(
        [exited(-SIGKILL)], "error", "infra_error", "agent killed by SIGKILL", retryable=True
    ),
    "agent_exited by SIGTERM": Row(
        [exited(-int(signal.SIGTERM))],
        "error",
        "infra_error",
        "agent killed by SIGTERM",
        retryable=True,
    ),
    "agent_exited with a status in retry.exit_codes": Row(
        [exited(75)],
        "error",
        "infra_error",
        "agent exit status 75 (retry.exit_codes)",
        retryable=True,
        retry_exit_codes=frozenset({75}),
    ),
    "task_error marked retryable": Row(
        [failure(K.TASK_ERROR, data={"retryable": True})],
        "error",
        "infra_error",
        "agent task_error marked retryable",
        retryable=True,
    ),
    # The first failure decides the status; a tainting kind makes it infrastructure anywhere.
    "grader_error after an assertion": Row(
        [failure(K.ASSERTION_FAILED), failure(K.GRADER_ERROR)],
        "fail",
        "infra_error",
        "grader error",
    ),
    "tool_transient_error after the agent's error": Row(
        [failure(K.AGENT_ERROR), failure(K.TOOL_TRANSIENT_ERROR)],
        "fail",
        "infra_error",
        "live tool transient error",
        retryable=True,
    ),
    "the first tainting kind gives the reason": Row(
        [failure(K.GRADER_ERROR), failure(K.TOOL_TRANSIENT_ERROR)],
        "error",
        "infra_error",
        "grader error",
    ),
    "infrastructure only when it comes first": Row(
        [failure(K.ASSERTION_FAILED), failure(K.INTERNAL_ERROR), exited(-SIGKILL)],
        "fail",
        "failed",
    ),
    "a budget anywhere is the outcome": Row(
        [failure(K.PROTOCOL_ERROR), failure(K.BUDGET_EXCEEDED)], "error", "budget_exceeded"
    ),
    "infrastructure wins over a budget": Row(
        [failure(K.WORKSPACE_ERROR), failure(K.BUDGET_EXCEEDED)],
        "error",
        "infra_error",
        "workspace_error",
    ),
}


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_status_outcome_and_retry_of_each_ending(row: Row) -> None:
    ending = Ending(wall_ms=5, retry_exit_codes=row.retry_exit_codes)
    result, retryable = build_result(plan(), row.failures, ending)
    assert (result.status, result.outcome, result.infra_reason, retryable) == (
        row.status,
        row.outcome,
        row.infra_reason,
        row.retryable,
    )
    assert result.failures == row.failures
    assert result.failure_reason == (row.failures[0].type if row.failures else None)
    assert result.passed == (row.status == "pass")


def test_every_failure_kind_has_a_row() -> None:
    listed = {f.type for row in ROWS.values() for f in row.failures}
    first = {row.failures[0].type for row in ROWS.values() if row.failures}
    assert set(FailureKind) <= first <= listed


def test_an_ungraded_attempt_has_no_status_of_its_own_yet() -> None:
    result, retryable = build_result(plan(), [], Ending(wall_ms=5), ungraded=True)
    assert (result.status, result.outcome, result.infra_reason, retryable) == (
        "ungraded",
        "",
        None,
        False,
    )


# What the result carries ----------------------------------------------------------------------


def test_counts_and_fields_come_from_the_plan_the_counters_and_the_ending() -> None:
    counters = Counters(
        tool_calls=4,
        tool_errors=1,
        calls_by_name={"lookup": 3, "pay": 1},
        errors_by_name={"pay": 1},
        tokens_in=120,
        tokens_out=30,
        cost_usd=0.25,
        steps=6,
    )
    checks = (MustCallAssertion(tools=["lookup"]),) * 3
    failures = [failure(K.ASSERTION_FAILED), failure(K.ASSERTION_FAILED)]
    ending = Ending(
        wall_ms=1234,
        exit_code=0,
        stderr_tail="last words",
        stderr_path="attempts/c1/stderr.log",
        cassette_sha256="ab" * 32,
        workspace="/kept/c1",
    )
    case_plan = plan(*checks, cassette=Path("cassettes/c1.jsonl"), model="m", trial=1, seed=7)
    result, _ = build_result(case_plan, failures, ending, counters=counters)
    assert (result.case_id, result.attempt_id, result.wall_ms) == ("c1", "c1/m/1", 1234)
    assert (result.model, result.trial, result.seed) == ("m", 1, 7)
    assert (result.tool_calls, result.tool_errors, result.steps) == (4, 1, 6)
    assert result.tool_calls_by_name == {"lookup": 3, "pay": 1}
    assert result.tool_errors_by_name == {"pay": 1}
    assert (result.tokens_in, result.tokens_out, result.cost_usd) == (120, 30, 0.25)
    assert (result.assertions_total, result.assertions_failed) == (3, 2)
    assert (result.exit_code, result.signal) == (0, None)
    assert (result.stderr_tail, result.stderr_path) == ("last words", "attempts/c1/stderr.log")
    assert result.cassette_path == str(Path("cassettes/c1.jsonl"))
    assert result.cassette_sha256 == "ab" * 32
    assert result.workspace == "/kept/c1"
    assert (result.score, result.threshold, result.verdicts) == (None, None, [])


def test_an_attempt_that_did_nothing_counts_nothing() -> None:
    result, _ = build_result(plan(), [], Ending(wall_ms=0))
    assert (result.tool_calls, result.tool_errors, result.steps) == (0, 0, 0)
    assert (result.tool_calls_by_name, result.tool_errors_by_name) == ({}, {})
    assert (result.tokens_in, result.tokens_out, result.cost_usd) == (None, None, None)
    assert (result.assertions_total, result.assertions_failed) == (0, 0)
    assert (result.exit_code, result.signal, result.cassette_path) == (None, None, None)
    assert (result.model, result.trial, result.seed, result.workspace) == (None,) * 4


@pytest.mark.parametrize(
    ("exit_code", "expected"),
    [(None, (None, None)), (0, (0, None)), (3, (3, None)), (-SIGKILL, (None, SIGKILL))],
)
def test_a_negative_exit_status_is_the_signal_that_killed_the_agent(
    exit_code: int | None, expected: tuple[int | None, int | None]
) -> None:
    result, _ = build_result(plan(), [exited(-1)], Ending(wall_ms=1, exit_code=exit_code))
    assert (result.exit_code, result.signal) == expected


@pytest.mark.parametrize(
    ("failures", "ungraded", "tail"),
    [([], False, None), ([failure(K.AGENT_ERROR)], False, "boom"), ([], True, "boom")],
)
def test_the_stderr_tail_is_kept_unless_the_attempt_passed(
    failures: list[Failure], ungraded: bool, tail: str | None
) -> None:
    ending = Ending(wall_ms=1, stderr_tail="boom")
    result, _ = build_result(plan(), failures, ending, ungraded=ungraded)
    assert result.stderr_tail == tail


def test_the_graders_score_threshold_and_verdicts() -> None:
    verdicts = [
        Verdict(grader="must_contain", status="pass", evidence="found"),
        Verdict(grader="json_match", status="fail", evidence="no", weight=3),
    ]
    decision = Decision(status="fail", score=0.25, threshold=0.5, evidence="below")
    below = Failure(type=K.SCORE_BELOW_THRESHOLD, message="below", expected=0.5, observed=0.25)
    graded = Grading(verdicts=verdicts, decision=decision, failures=[below])
    result, retryable = build_result(plan(), [below], Ending(wall_ms=1), graded=graded)
    assert (result.score, result.threshold, result.verdicts) == (0.25, 0.5, verdicts)
    assert (result.status, result.outcome, retryable) == ("fail", "failed", False)


# The order of failures --------------------------------------------------------------------------


def test_failures_are_ordered_transient_tools_first_then_the_end_graders_gateway_usage() -> None:
    transient = failure(K.TOOL_TRANSIENT_ERROR, tool="weather")
    unused = failure(K.CASSETTE_UNUSED)
    not_written = failure(K.CASSETTE_NOT_WRITTEN)
    ended_by, graded, usage = exited(1), [failure(K.ASSERTION_FAILED)], [failure("budget")]
    ordered = ordered_failures(ended_by, graded, [unused, transient, not_written], usage)
    assert ordered == [transient, ended_by, *graded, unused, not_written, *usage]
    assert ordered_failures(None, [], [], []) == []
    assert ordered_failures(None, graded, [unused], []) == [*graded, unused]


def test_an_unreachable_live_tool_is_why_the_attempt_went_wrong() -> None:
    """However the attempt ended, a transient tool failure comes first: the attempt is retried."""
    transient = failure(K.TOOL_TRANSIENT_ERROR)
    failures = ordered_failures(exited(1), [failure(K.ASSERTION_FAILED)], [transient], [])
    result, retryable = build_result(plan(), failures, Ending(wall_ms=1))
    assert (result.status, result.outcome, result.infra_reason, retryable) == (
        "error",
        "infra_error",
        "live tool transient error",
        True,
    )


async def test_usage_budgets_found_at_the_end_are_reported_after_every_other_failure() -> None:
    budget = LiveBudget(Budgets(max_tokens_out=100, max_cost_usd=0.5))
    usage = [failure_of(exceeded) for exceeded in budget.usage_exceeded(250, 0.75)]
    assert [(f.type, f.expected, f.observed) for f in usage] == [
        (K.BUDGET_EXCEEDED, 100, 250),
        (K.BUDGET_EXCEEDED, 0.5, 0.75),
    ]
    failures = ordered_failures(None, [failure(K.ASSERTION_FAILED)], [], usage)
    result, retryable = build_result(plan(), failures, Ending(wall_ms=1))
    assert (result.status, result.outcome, retryable) == ("fail", "budget_exceeded", False)
    assert result.failures[1:] == usage
    alone, _ = build_result(plan(), ordered_failures(None, [], [], usage), Ending(wall_ms=1))
    assert (alone.status, alone.outcome) == ("fail", "budget_exceeded")


# What an AttemptError records -----------------------------------------------------------------

# error -> (the failure it records, the result's status and outcome)
ERRORS: dict[str, tuple[AttemptError, Failure, str, str]] = {
    "a plain attempt error": (
        AttemptError("went wrong"),
        Failure(type=K.AGENT_ERROR, message="went wrong"),
        "fail",
        "failed",
    ),
    "details without their unset values": (
        AgentCrashedError("agent exited", exit_code=-SIGKILL, stderr_tail=None),
        Failure(type=K.AGENT_EXITED, message="agent exited", details={"exit_code": -SIGKILL}),
        "error",
        "infra_error",
    ),
    "a spawn errno": (
        SpawnError("cannot start", errno=errno.ENOENT),
        Failure(type=K.SPAWN_ERROR, message="cannot start", details={"errno": errno.ENOENT}),
        "error",
        "infra_error",
    ),
    "a budget's limit and use": (
        BudgetExceededError("max_tool_calls", 3, 4),
        Failure(
            type=K.BUDGET_EXCEEDED,
            message="Budget exceeded: max_tool_calls limit=3 actual=4",
            expected=3,
            observed=4,
            details={"field": "max_tool_calls", "limit": 3, "actual": 4},
        ),
        "fail",
        "budget_exceeded",
    ),
    "a protocol error": (
        AgentProtocolError("line 2: not JSON", line=2),
        Failure(type=K.PROTOCOL_ERROR, message="line 2: not JSON", details={"line": 2}),
        "error",
        "failed",
    ),
    "a task error": (
        TaskError("nope", data={"retryable": True}),
        Failure(type=K.TASK_ERROR, message="nope", details={"data": {"retryable": True}}),
        "error",
        "infra_error",
    ),
    "a cassette error": (
        CassetteError("gone"),
        Failure(type=K.CASSETTE_ERROR, message="gone"),
        "error",
        "failed",
    ),
    "a cassette miss": (
        CassetteMissError("no match"),
        Failure(type=K.CASSETTE_MISMATCH, message="no match"),
        "fail",
        "failed",
    ),
    "a tool not allowed": (
        ToolNotAllowedError("pay is not allowed", tool="pay"),
        Failure(type=K.TOOL_NOT_ALLOWED, message="pay is not allowed", details={"tool": "pay"}),
        "fail",
        "failed",
    ),
    "a workspace error": (
        WorkspaceError("setup failed"),
        Failure(type=K.WORKSPACE_ERROR, message="setup failed"),
        "error",
        "infra_error",
    ),
}


@pytest.mark.parametrize(
    ("error", "recorded", "status", "outcome"), ERRORS.values(), ids=ERRORS.keys()
)
def test_the_failure_an_attempt_error_records_and_the_result_it_makes(
    error: AttemptError, recorded: Failure, status: str, outcome: str
) -> None:
    assert failure_of(error) == recorded
    result, _ = build_result(plan(), [failure_of(error)], Ending(wall_ms=1))
    assert (result.failures, result.status, result.outcome) == ([recorded], status, outcome)
