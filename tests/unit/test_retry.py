"""harness.execute.retry: which failures are infrastructure; the policy's retries and records."""

from __future__ import annotations

import errno
import signal

import pytest

from harness.attempt.context import AttemptOutput
from harness.attempt.trace import Trace
from harness.execute.retry import RetryPolicy
from harness.kinds import infra_failure
from harness.results import AttemptResult, Failure


def test_classification() -> None:
    def kind(failure_type: str, **details: object) -> tuple[str, bool] | None:
        found = infra_failure([Failure(failure_type, "m", details=details)], {75})
        return None if found is None else (found.reason, found.retryable)

    assert kind("spawn_error", errno=errno.EAGAIN) == ("spawn failure (EAGAIN)", True)
    assert kind("spawn_error", errno=errno.EACCES) == ("spawn failure (EACCES)", False)
    assert kind("agent_exited", exit_code=-signal.SIGKILL) == ("agent killed by SIGKILL", True)
    assert kind("agent_exited", exit_code=-signal.SIGSEGV) is None  # the agent's own fault
    assert kind("agent_exited", exit_code=75) == ("agent exit status 75 (retry.exit_codes)", True)
    assert kind("agent_exited", exit_code=1) is None
    assert kind("task_error", data={"retryable": True}) is not None
    assert kind("task_error", data={"retryable": "yes"}) is None
    assert kind("task_error") is None
    assert kind("tool_transient_error") == ("live tool transient error", True)
    for never in ("assertion_failed", "budget_exceeded", "cassette_mismatch", "protocol_error"):
        assert kind(never) is None
    # Only the failure that ended the attempt counts.
    later = [Failure("assertion_failed", "x"), Failure("spawn_error", "y", details={"errno": 11})]
    assert infra_failure(later) is None
    # ... except an unreachable live tool, which taints whatever the agent did after it.
    tainted = [Failure("assertion_failed", "x"), Failure("tool_transient_error", "503")]
    assert infra_failure(tainted) is not None
    assert infra_failure([]) is None


def output(try_number: int, retryable: bool) -> AttemptOutput:
    result = AttemptResult(
        case_id="c",
        status="error" if retryable else "pass",
        wall_ms=try_number,
        outcome="infra_error" if retryable else "passed",
        infra_reason="agent killed by SIGKILL" if retryable else None,
        failures=[Failure("agent_exited", "killed")] if retryable else [],
    )
    return AttemptOutput(result=result, trace=Trace("c"), retryable=retryable)


@pytest.mark.parametrize(("failing_tries", "max_retries"), [(0, 2), (2, 2), (5, 2), (3, 0)])
async def test_policy_retries_and_records(failing_tries: int, max_retries: int) -> None:
    tries: list[int] = []
    moved: list[int] = []

    async def try_once(number: int) -> AttemptOutput:
        tries.append(number)
        return output(number, retryable=number <= failing_tries)

    def on_retry(out: AttemptOutput, number: int) -> str:
        moved.append(number)
        return f"stderr.try-{number}.log"

    policy = RetryPolicy(max_retries=max_retries, initial_seconds=0.001, max_seconds=0.002)
    final = await policy.run(try_once, on_retry)

    expected_tries = min(failing_tries, max_retries) + 1
    assert tries == list(range(1, expected_tries + 1))
    assert moved == list(range(1, expected_tries))
    records = final.result.retries
    assert [r.try_number for r in records] == moved
    assert all(
        r.reason == "agent killed by SIGKILL" and r.failure_type == "agent_exited" for r in records
    )
    assert [r.stderr_path for r in records] == [f"stderr.try-{n}.log" for n in moved]
    assert all(0 <= r.wait_ms <= 5 for r in records)
    survived = failing_tries > max_retries
    assert final.result.outcome == ("infra_error" if survived else "passed")
