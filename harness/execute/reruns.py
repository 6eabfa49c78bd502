"""`--rerun-failures N`: an attempt that failed runs again, up to N times; one that passes on a
re-run is flaky. Infrastructure errors are not re-run here: the pool retries those.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from harness.attempt.context import AttemptOutput
from harness.attempt.spec import AttemptPlan
from harness.execute.pool import RunOne
from harness.results import INFRA_ERROR, PASS


def with_reruns(run_one: RunOne, reruns: int, fingerprint: Callable[[AttemptPlan], str]) -> RunOne:
    """`run_one` with re-runs of failed attempts, and each result stamped with its
    fingerprint, its re-runs and whether it was flaky."""

    async def run(attempt: AttemptPlan, try_number: int) -> AttemptOutput:
        output = await run_one(attempt, try_number)
        tries = 0
        while output.result.status != PASS and tries < reruns:
            if output.result.outcome == INFRA_ERROR:
                break
            tries += 1
            output = await run_one(attempt, try_number)
        result = msgspec.structs.replace(
            output.result,
            fingerprint=fingerprint(attempt),
            reruns=tries,
            flaky=tries > 0 and output.result.status == PASS,
        )
        # Keep `retryable`: the pool's retry policy reads it from this output.
        return AttemptOutput(result=result, trace=output.trace, retryable=output.retryable)

    return run
