"""Attempts over a bounded worker pool: retries of infrastructure failures, fail-fast, and a
shutdown that never outlives its timeout.

Memory is bounded by the pool: workers pull plans from a shared iterator, and a finished
attempt goes to `on_result` (which writes it) before its worker takes the next plan.
"""

from __future__ import annotations

import traceback
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field

import anyio
from anyio.abc import TaskGroup

from harness.agent.process import kill_all_groups
from harness.attempt.context import AttemptOutput
from harness.attempt.spec import AttemptPlan
from harness.attempt.trace import Trace
from harness.errors import AttemptError, HarnessError
from harness.execute.retry import RetryPolicy
from harness.kinds import FailureKind
from harness.results import ERROR, INFRA_ERROR, PASSED, AttemptResult, Failure

DEFAULT_SHUTDOWN_TIMEOUT_SECONDS = 5.0

# Reasons the pool stopped early, as run.json's reason_code says them.
STOP_INTERRUPTED = "interrupted"
STOP_FAIL_FAST = "fail_fast"


@dataclass(frozen=True)
class PoolSettings:
    workers: int
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    fail_fast: bool = False
    # After a stop, running agents get this long to end (SIGTERM first, within kill_grace_ms)
    # before every remaining agent group is killed outright.
    shutdown_timeout_seconds: float = DEFAULT_SHUTDOWN_TIMEOUT_SECONDS

    def stops_at(self, output: AttemptOutput) -> bool:
        """Whether this attempt's output stops the run: with --fail-fast, any that did not
        pass. Every engine asks this once each result is written."""
        return self.fail_fast and output.result.outcome != PASSED


# run_one(plan, try_number) runs one try of an attempt.
RunOne = Callable[[AttemptPlan, int], Awaitable[AttemptOutput]]


class Pool:
    """Runs plans with at most `workers` at a time; `stop()` ends the run cleanly, and may be
    called before `run` (a Ctrl+C while a run's live tools start).

    The callbacks are synchronous on purpose: one runs between two awaits of one worker, so
    two calls never interleave, and a result is on disk before cancellation can reach it.
    """

    def __init__(
        self,
        settings: PoolSettings,
        *,
        on_start: Callable[[AttemptPlan], None] | None = None,
        on_retry: Callable[[AttemptPlan, AttemptOutput, int], str | None] | None = None,
    ) -> None:
        self.settings = settings
        self.on_start = on_start
        self.on_retry = on_retry
        self.stop_reason: str | None = None
        self._scope = anyio.CancelScope()
        self._outer: TaskGroup | None = None

    async def run(
        self,
        plans: Iterable[AttemptPlan],
        run_one: RunOne,
        on_result: Callable[[AttemptOutput], None],
    ) -> None:
        """Run every plan with `run_one` and hand each output to `on_result`, unless stopped;
        returns once no agent of this pool is left."""
        pending = iter(plans)
        async with anyio.create_task_group() as outer:
            self._outer = outer
            with self._scope:
                async with anyio.create_task_group() as workers:
                    for _ in range(max(self.settings.workers, 1)):
                        workers.start_soon(self._worker, pending, run_one, on_result)
            # Ends the kill timer of a stop, if one is armed.
            outer.cancel_scope.cancel()
        self._outer = None

    def stop(self, reason: str) -> None:
        """Stop scheduling and cancel running attempts. Each agent group is terminated (its
        grace period applies); anything still alive after the shutdown timeout is killed."""
        if self.stop_reason == reason:
            return
        # A Ctrl+C after --fail-fast stopped the run still turns it into an interrupted one.
        self.stop_reason = reason
        self._scope.cancel()
        if self._outer is not None:
            self._outer.start_soon(self._kill_after, self.settings.shutdown_timeout_seconds)

    def kill_now(self) -> None:
        """The second Ctrl+C: SIGKILL every agent group at once."""
        kill_all_groups()

    async def _kill_after(self, seconds: float) -> None:
        await anyio.sleep(seconds)
        self.kill_now()

    async def _worker(
        self,
        pending: Iterator[AttemptPlan],
        run_one: RunOne,
        on_result: Callable[[AttemptOutput], None],
    ) -> None:
        # The iterator is shared: tasks take turns on one thread, so next() never races.
        for plan in pending:
            if self.on_start is not None:
                self.on_start(plan)
            try:
                output = await self._attempt(plan, run_one)
            except HarnessError as exc:
                if not isinstance(exc, AttemptError):
                    raise  # the run cannot go on (disk full, a tool server gone): exit 3
                output = _internal_error(plan, exc)
            except Exception as exc:  # a bug in harness: it costs this attempt, not the run
                output = _internal_error(plan, exc)
            on_result(output)
            if self.settings.stops_at(output):
                self.stop(STOP_FAIL_FAST)

    async def _attempt(self, plan: AttemptPlan, run_one: RunOne) -> AttemptOutput:
        async def try_once(try_number: int) -> AttemptOutput:
            return await run_one(plan, try_number)

        on_retry = self.on_retry
        if on_retry is None:
            return await self.settings.retry.run(try_once)
        return await self.settings.retry.run(
            try_once, lambda output, number: on_retry(plan, output, number)
        )


def _internal_error(plan: AttemptPlan, exc: Exception) -> AttemptOutput:
    """An attempt that raised out of the runner: recorded as a lost (infra_error) trial with
    the exception named, so the run goes on and the bug can be reported."""
    where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    place = f" at {where[0].filename}:{where[0].lineno}" if where else ""
    message = (
        f"internal error in harness (a bug, please report it): {type(exc).__name__}: {exc}{place}"
    )
    result = AttemptResult(
        case_id=plan.case.id,
        attempt_id=plan.attempt_id,
        status=ERROR,
        wall_ms=0,
        failures=[Failure(type=FailureKind.INTERNAL_ERROR, message=message)],
        model=plan.model,
        trial=plan.trial,
        outcome=INFRA_ERROR,
        infra_reason=FailureKind.INTERNAL_ERROR,
    )
    trace = Trace(plan.case.id)
    trace.error(FailureKind.INTERNAL_ERROR, message)
    return AttemptOutput(result=result, trace=trace)
