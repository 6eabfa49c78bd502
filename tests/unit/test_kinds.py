"""harness.kinds, the one table of failure kinds: every kind has a rule, every AttemptError a
kind; the status of a list of failures, the infrastructure failure in it (a spawn errno, a
signal from outside, a retry exit code, a retryable task_error, a tainting kind anywhere) and
the outcome."""

from __future__ import annotations

import errno
import signal
from typing import Any

import pytest

from harness import errors
from harness.attempt.workspace import WorkspaceError
from harness.kinds import (
    EXTERNAL_SIGNALS,
    RULES,
    TRANSIENT_SPAWN_ERRNOS,
    FailureKind,
    InfraFailure,
    Infrastructure,
    infra_failure,
    outcome_of,
    rule_of,
    status_of,
)
from harness.results import Failure

K = FailureKind


def failure(kind: str, **details: Any) -> Failure:
    return Failure(type=kind, message=kind, details=details or None)


def test_every_kind_has_a_rule_and_every_rule_a_kind() -> None:
    assert set(RULES) == set(FailureKind)


def test_only_infrastructure_is_retried_or_taints() -> None:
    for kind, rule in RULES.items():
        if rule.retryable or rule.taints:
            assert rule.infrastructure is Infrastructure.ALWAYS, kind
        if rule.infrastructure is not Infrastructure.NEVER:
            assert rule.status == "error", kind


def _attempt_errors(base: type[errors.AttemptError]) -> list[type[errors.AttemptError]]:
    found = [base]
    for sub in base.__subclasses__():
        found += _attempt_errors(sub)
    return found


def test_every_attempt_error_carries_a_kind_of_the_table() -> None:
    classes = _attempt_errors(errors.AttemptError)
    assert WorkspaceError in classes
    for cls in classes:
        assert isinstance(cls.kind, FailureKind), cls
        assert cls.kind in RULES


STATUSES = {
    K.AGENT_ERROR: "fail",
    K.BUDGET_EXCEEDED: "fail",
    K.CASSETTE_MISMATCH: "fail",
    K.CASSETTE_UNUSED: "fail",
    K.CASSETTE_OUT_OF_ORDER: "fail",
    K.CASSETTE_OVERUSED: "fail",
    K.TOOL_NOT_ALLOWED: "fail",
    K.ASSERTION_FAILED: "fail",
    K.JUDGE_UNCERTAIN: "fail",
    K.SCORE_BELOW_THRESHOLD: "fail",
    K.SPAWN_ERROR: "error",
    K.PROTOCOL_ERROR: "error",
    K.AGENT_EXITED: "error",
    K.TASK_ERROR: "error",
    K.CASSETTE_ERROR: "error",
    K.CASSETTE_NOT_WRITTEN: "error",
    K.TOOL_TRANSIENT_ERROR: "error",
    K.GRADER_ERROR: "error",
    K.WORKSPACE_ERROR: "error",
    K.INTERNAL_ERROR: "error",
    K.FORK_SERVER_LOST: "error",
}


@pytest.mark.parametrize(("kind", "status"), STATUSES.items())
def test_the_first_failure_decides_the_status(kind: FailureKind, status: str) -> None:
    assert rule_of(kind).status == status
    assert status_of([failure(kind)]) == status
    for then in (K.ASSERTION_FAILED, K.INTERNAL_ERROR):
        assert status_of([failure(kind), failure(then)]) == status


def test_no_failure_passes_and_an_unknown_kind_is_a_failure() -> None:
    assert status_of([]) == "pass"
    assert rule_of("written_by_another_tool") == RULES[K.AGENT_ERROR]
    assert status_of([failure("written_by_another_tool")]) == "fail"
    assert infra_failure([failure("written_by_another_tool")]) is None


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (K.TOOL_TRANSIENT_ERROR, InfraFailure("live tool transient error", True)),
        (K.GRADER_ERROR, InfraFailure("grader error", False)),
        (K.WORKSPACE_ERROR, InfraFailure("workspace_error", False)),
        (K.INTERNAL_ERROR, InfraFailure("internal_error", False)),
        (K.FORK_SERVER_LOST, InfraFailure("fork_server_lost", True)),
        # A refused key is not the agent's doing, and trying again sends the same key.
        (K.MODEL_KEY_REFUSED, InfraFailure("model provider refused the key", False)),
    ],
)
def test_kinds_that_are_always_infrastructure(kind: FailureKind, expected: InfraFailure) -> None:
    assert infra_failure([failure(kind)]) == expected


@pytest.mark.parametrize(
    "kind", [kind for kind, rule in RULES.items() if rule.infrastructure is Infrastructure.NEVER]
)
def test_kinds_that_are_never_infrastructure(kind: FailureKind) -> None:
    assert infra_failure([failure(kind)]) is None
    assert infra_failure([failure(kind, errno=errno.EAGAIN, exit_code=-9)], {75}) is None


def test_tainting_kinds_count_wherever_they_are_listed() -> None:
    tainting = {kind for kind, rule in RULES.items() if rule.taints}
    assert tainting == {
        K.TOOL_TRANSIENT_ERROR,
        K.GRADER_ERROR,
        K.MODEL_UPSTREAM_ERROR,
        K.MODEL_KEY_REFUSED,
    }
    # The agent was answered with an outage by its model: whatever it did next is not its own.
    crashed_after = infra_failure([failure(K.AGENT_EXITED), failure(K.MODEL_UPSTREAM_ERROR)])
    assert crashed_after == InfraFailure("model upstream error", True)
    late = infra_failure([failure(K.ASSERTION_FAILED), failure(K.GRADER_ERROR)])
    assert late == InfraFailure("grader error", False)
    first_taint = [failure(K.AGENT_ERROR), failure(K.TOOL_TRANSIENT_ERROR), failure(K.GRADER_ERROR)]
    assert infra_failure(first_taint) == InfraFailure("live tool transient error", True)
    # Other infrastructure kinds count only first.
    assert infra_failure([failure(K.ASSERTION_FAILED), failure(K.INTERNAL_ERROR)]) is None


def test_transient_spawn_errnos_are_the_documented_ones() -> None:
    documented = {"EAGAIN", "ENOMEM", "EMFILE", "ENFILE", "ETXTBSY", "EINTR"}
    assert {errno.errorcode[code] for code in TRANSIENT_SPAWN_ERRNOS} == documented


@pytest.mark.parametrize("code", sorted(TRANSIENT_SPAWN_ERRNOS))
def test_a_transient_spawn_errno_is_retried(code: int) -> None:
    found = infra_failure([failure(K.SPAWN_ERROR, errno=code)])
    assert found == InfraFailure(f"spawn failure ({errno.errorcode[code]})", True)


@pytest.mark.parametrize("code", [errno.ENOENT, errno.EACCES, errno.ENOEXEC])
def test_a_spawn_no_retry_can_fix_is_infrastructure_not_retried(code: int) -> None:
    found = infra_failure([failure(K.SPAWN_ERROR, errno=code)])
    assert found == InfraFailure(f"spawn failure ({errno.errorcode[code]})", False)


@pytest.mark.parametrize(
    ("details", "reason"),
    [({}, "unknown"), ({"errno": "EAGAIN"}, "unknown"), ({"errno": 99999}, "99999")],
)
def test_a_spawn_error_without_a_known_errno(details: dict[str, Any], reason: str) -> None:
    found = infra_failure([failure(K.SPAWN_ERROR, **details)])
    assert found == InfraFailure(f"spawn failure ({reason})", False)


def test_signals_from_outside_are_the_documented_ones() -> None:
    outside = {"SIGKILL", "SIGTERM", "SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2"}
    assert {signal.Signals(number).name for number in EXTERNAL_SIGNALS} == outside


@pytest.mark.parametrize("number", sorted(EXTERNAL_SIGNALS))
def test_an_agent_killed_from_outside_is_retried(number: int) -> None:
    found = infra_failure([failure(K.AGENT_EXITED, exit_code=-number)])
    assert found == InfraFailure(f"agent killed by {signal.Signals(number).name}", True)


@pytest.mark.parametrize(
    "sig",
    [
        signal.SIGSEGV,
        signal.SIGABRT,
        signal.SIGBUS,
        signal.SIGFPE,
        signal.SIGILL,
        signal.SIGSYS,
        signal.SIGTRAP,
        signal.SIGPIPE,
        signal.SIGXCPU,
        signal.SIGXFSZ,
    ],
)
def test_a_signal_the_agent_brings_on_itself_is_its_failure(sig: signal.Signals) -> None:
    assert infra_failure([failure(K.AGENT_EXITED, exit_code=-int(sig))]) is None


@pytest.mark.parametrize(
    ("status", "codes", "expected"),
    [
        (75, {75}, InfraFailure("agent exit status 75 (retry.exit_codes)", True)),
        (75, set(), None),
        (1, {75}, None),
        (0, {0}, None),  # a clean exit is never "retry me"
        (None, {75}, None),
        ("75", {75}, None),
    ],
)
def test_an_exit_status_in_retry_exit_codes_is_retried(
    status: Any, codes: set[int], expected: InfraFailure | None
) -> None:
    assert infra_failure([failure(K.AGENT_EXITED, exit_code=status)], codes) == expected


@pytest.mark.parametrize(
    ("details", "expected"),
    [
        ({"data": {"retryable": True}}, InfraFailure("agent task_error marked retryable", True)),
        ({"data": {"retryable": "true"}}, None),
        ({"data": {"retryable": 1}}, None),
        ({"data": {"retryable": False}}, None),
        ({"data": ["retryable"]}, None),
        ({}, None),
    ],
)
def test_a_task_error_is_retried_only_when_marked_retryable(
    details: dict[str, Any], expected: InfraFailure | None
) -> None:
    assert infra_failure([failure(K.TASK_ERROR, **details)]) == expected


@pytest.mark.parametrize(
    ("failures", "outcome"),
    [
        ([], "passed"),
        ([failure(K.ASSERTION_FAILED)], "failed"),
        ([failure(K.PROTOCOL_ERROR), failure(K.BUDGET_EXCEEDED)], "budget_exceeded"),
        ([failure(K.INTERNAL_ERROR), failure(K.BUDGET_EXCEEDED)], "infra_error"),
    ],
)
def test_the_outcome(failures: list[Failure], outcome: str) -> None:
    assert outcome_of(failures, infra_failure(failures)) == outcome
