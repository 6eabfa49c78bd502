"""Attempts over a bounded worker pool; each result is handed on the moment it finishes.

Memory is bounded by the pool: workers pull plans from a shared iterator, and a finished
attempt goes to `on_result` (which writes it) before its worker takes the next plan.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

import anyio

from harness.runner import AttemptOutput, AttemptPlan


async def run_pool(
    plans: Iterable[AttemptPlan],
    *,
    workers: int,
    run_one: Callable[[AttemptPlan], Awaitable[AttemptOutput]],
    on_result: Callable[[AttemptOutput], None],
) -> None:
    """Run every plan with at most `workers` at a time.

    `on_result` is synchronous on purpose: it runs between two awaits of one worker, so two
    calls never interleave, and a result is on disk before cancellation can reach it.
    """
    pending = iter(plans)

    async def worker() -> None:
        # The iterator is shared: tasks take turns on one thread, so next() never races.
        for plan in pending:
            on_result(await run_one(plan))

    async with anyio.create_task_group() as tasks:
        for _ in range(max(workers, 1)):
            tasks.start_soon(worker)
