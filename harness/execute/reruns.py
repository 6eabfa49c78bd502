"""`--rerun-failures N`: an attempt that failed runs again, up to N times; one that passes on a
re-run is flaky. Infrastructure errors are not re-run here: the pool retries those.

The result keeps the first try's timing: that try is the run being measured, and a re-run
meets a warm machine (a kept agent, cached files), so its wall time would compare against the
baseline as a speed-up that never happened.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from harness.attempt.context import AttemptOutput
from harness.attempt.spec import AttemptPlan
from harness.execute.pool import RunOne
from harness.results import INFRA_ERROR, PASS, AttemptResult

OnRerun = Callable[[AttemptPlan, AttemptResult, int, int], None]


def with_reruns(
    run_one: RunOne,
    reruns: int,
    fingerprint: Callable[[AttemptPlan], str],
    on_rerun: OnRerun | None = None,
) -> RunOne:
    """`run_one` with re-runs of failed attempts, and each result stamped with its
    fingerprint, its re-runs and whether it was flaky. `on_rerun(attempt, failed result,
    re-run number, reruns)` is called before each re-run, so the console can say so."""

    async def run(attempt: AttemptPlan, try_number: int) -> AttemptOutput:
        output = first = await run_one(attempt, try_number)
        tries = 0
        while output.result.status != PASS and tries < reruns:
            if output.result.outcome == INFRA_ERROR:
                break
            tries += 1
            if on_rerun is not None:
                on_rerun(attempt, output.result, tries, reruns)
            output = await run_one(attempt, try_number)
        result = msgspec.structs.replace(
            output.result,
            fingerprint=fingerprint(attempt),
            reruns=tries,
            flaky=tries > 0 and output.result.status == PASS,
            wall_ms=first.result.wall_ms,
            started_at=first.result.started_at,
        )
        # Keep `retryable`: the pool's retry policy reads it from this output.
        return AttemptOutput(result=result, trace=output.trace, retryable=output.retryable)

    return run
