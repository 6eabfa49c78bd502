"""Which failures belong to the machinery rather than the agent, and the policy that retries them.

An attempt is retried only when the failure that ended it is an infrastructure failure:

- `spawn_error`: the agent never ran, so it is never a trial. Retried for a transient errno
  (EAGAIN, ENOMEM, EMFILE, ENFILE, ETXTBSY, EINTR); not for ENOENT, EACCES or ENOEXEC, which no
  retry can fix (the attempt still ends as `infra_error`).
- `agent_exited` by a signal from outside: SIGKILL (the OOM killer), SIGTERM, SIGHUP, SIGINT,
  SIGQUIT, SIGUSR1/2. Not SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL, SIGSYS, SIGTRAP, SIGPIPE,
  SIGXCPU or SIGXFSZ, which an agent brings on itself: those are its failure.
- `agent_exited` with an exit status listed in the suite's `retry.exit_codes` (say 75 for
  "rate-limited, try later").
- `task_error` whose `data` has `"retryable": true`: the agent's own "transient, retry me".
- `tool_transient_error`: a live tool could not be reached even after its own per-call retries
  (the record gateway reports it when the attempt ends). It counts wherever it appears among the
  failures: the agent was handed a fake `ok: false`, so whatever it did next is not its outcome.

Anything else (a failed assertion, a budget, a cassette miss, a protocol error, a crash) is the
agent's outcome and is never retried: flakiness is data for pass^k, not noise to re-roll.
Retry n (from 1) waits `min(initial * 2^(n-1), max)` plus up to `initial` of random jitter.
"""

from __future__ import annotations

import errno
import signal
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.results import Failure, RetryRecord

if TYPE_CHECKING:
    from harness.runner import AttemptOutput

DEFAULT_MAX_RETRIES = 2
DEFAULT_INITIAL_BACKOFF_MS = 500
DEFAULT_MAX_BACKOFF_MS = 10_000

TRANSIENT_SPAWN_ERRNOS = frozenset(
    {errno.EAGAIN, errno.ENOMEM, errno.EMFILE, errno.ENFILE, errno.ETXTBSY, errno.EINTR}
)
# Signals that reach an agent from outside: the kernel's OOM killer, an operator, a dying
# parent. Faults (SIGSEGV, SIGABRT, ...) are the agent's own doing and count as its failure.
EXTERNAL_SIGNALS = frozenset(
    int(sig)
    for sig in (
        signal.SIGKILL,
        signal.SIGTERM,
        signal.SIGHUP,
        signal.SIGINT,
        signal.SIGQUIT,
        signal.SIGUSR1,
        signal.SIGUSR2,
    )
)
TOOL_TRANSIENT = "tool_transient_error"


@dataclass(frozen=True)
class InfraFailure:
    """Why an attempt's end is the machinery's fault, and whether trying again can help."""

    reason: str
    retryable: bool


def infra_failure(
    failures: Sequence[Failure], retry_exit_codes: Collection[int] = ()
) -> InfraFailure | None:
    """The infrastructure failure that ended an attempt, or None if the outcome is the
    agent's. The first failure is the one that ended the attempt; an unreachable live tool
    taints the attempt wherever it is listed."""
    if not failures:
        return None
    if any(failure.type == TOOL_TRANSIENT for failure in failures):
        return InfraFailure("live tool transient error", retryable=True)
    first = failures[0]
    details = first.details or {}
    if first.type == "spawn_error":
        code = details.get("errno")
        transient = isinstance(code, int) and code in TRANSIENT_SPAWN_ERRNOS
        name = errno.errorcode.get(code, str(code)) if isinstance(code, int) else "unknown"
        return InfraFailure(f"spawn failure ({name})", retryable=transient)
    if first.type == "agent_exited":
        status = details.get("exit_code")
        if isinstance(status, int) and status < 0 and -status in EXTERNAL_SIGNALS:
            return InfraFailure(f"agent killed by {_signal_name(-status)}", retryable=True)
        if isinstance(status, int) and status > 0 and status in retry_exit_codes:
            return InfraFailure(f"agent exit status {status} (retry.exit_codes)", retryable=True)
        return None
    if first.type == "task_error":
        data = details.get("data")
        if isinstance(data, dict) and data.get("retryable") is True:
            return InfraFailure("agent task_error marked retryable", retryable=True)
        return None
    return None


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of infrastructure failures with exponential backoff and jitter (tenacity)."""

    max_retries: int = DEFAULT_MAX_RETRIES
    initial_seconds: float = DEFAULT_INITIAL_BACKOFF_MS / 1000
    max_seconds: float = DEFAULT_MAX_BACKOFF_MS / 1000

    async def run(
        self,
        try_once: Callable[[int], Awaitable[AttemptOutput]],
        on_retry: Callable[[AttemptOutput, int], str | None] | None = None,
    ) -> AttemptOutput:
        """Call `try_once(try_number)` until it ends without a retryable infrastructure
        failure or the retries run out; return the last output with every retry recorded.

        `on_retry(output, try_number)` runs before each wait; it may move the try's stderr
        log aside, so the next try starts a fresh one, and return where it went."""
        # Most attempts need no retry: they skip tenacity's per-call set-up (~0.2 ms).
        first = await try_once(1)
        if not first.retryable or self.max_retries == 0:
            return first
        pending = [first]
        import anyio
        import msgspec
        from tenacity import (
            AsyncRetrying,
            RetryCallState,
            retry_if_result,
            stop_after_attempt,
            wait_exponential,
            wait_random,
        )

        records: list[RetryRecord] = []

        def before_sleep(state: RetryCallState) -> None:
            output: AttemptOutput = _result_of(state)
            wait = state.next_action.sleep if state.next_action is not None else 0.0
            stderr_path = output.result.stderr_path
            if on_retry is not None:
                stderr_path = on_retry(output, state.attempt_number) or stderr_path
            records.append(_record(output, state.attempt_number, wait, stderr_path))

        def last_output(state: RetryCallState) -> Any:
            return _result_of(state)  # retries exhausted: the last try is the final result

        async def attempt() -> AttemptOutput:
            if pending:  # the first try, already made
                return pending.pop()
            return await try_once(len(records) + 1)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_retries + 1),
            # Spelled as a sum: wait_exponential_jitter's keywords changed across tenacity 8/9.
            wait=wait_exponential(multiplier=self.initial_seconds, max=self.max_seconds)
            + wait_random(0, self.initial_seconds),
            retry=retry_if_result(lambda output: bool(output.retryable)),
            retry_error_callback=last_output,
            before_sleep=before_sleep,
            sleep=anyio.sleep,
            reraise=True,
        )
        output: AttemptOutput = await retrying(attempt)
        if records:
            output.result = msgspec.structs.replace(output.result, retries=records)
        return output


def _result_of(state: Any) -> Any:
    assert state.outcome is not None
    return state.outcome.result()


def _record(
    output: AttemptOutput, try_number: int, wait_seconds: float, stderr_path: str | None
) -> RetryRecord:
    result = output.result
    first = result.failures[0] if result.failures else None
    return RetryRecord(
        try_number=try_number,
        failure_type=first.type if first else result.status,
        message=first.message if first else "",
        reason=result.infra_reason or "",
        wall_ms=result.wall_ms,
        wait_ms=int(wait_seconds * 1000),
        exit_code=result.exit_code,
        signal=result.signal,
        stderr_path=stderr_path,
    )
