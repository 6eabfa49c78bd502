"""The policy that retries an attempt ended by an infrastructure failure (harness.kinds says
which failures are), with exponential backoff and jitter.

Retry n (from 1) waits `min(initial * 2^(n-1), max)` plus up to `initial` of random jitter.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import msgspec

from harness.attempt.context import AttemptOutput
from harness.results import RetryRecord

DEFAULT_MAX_RETRIES = 2
DEFAULT_INITIAL_BACKOFF_MS = 500
DEFAULT_MAX_BACKOFF_MS = 10_000


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
        # Imported here: tenacity (~20 ms with what it imports) loads only for a retry.
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
