"""Attempts over a bounded worker pool; results are handed on one by one as they finish.

Memory is bounded by the pool: workers pull plans from a shared iterator and each finished
attempt is passed to `on_result` (which writes it) before the worker takes the next plan.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from harness.runner import AttemptOutput, AttemptPlan


async def run_pool(
    plans: Iterable[AttemptPlan],
    *,
    workers: int,
    run_one: Callable[[AttemptPlan], Awaitable[AttemptOutput]],
    on_result: Callable[[AttemptOutput], None],
) -> None:
    """Run every plan with at most `workers` at a time; `on_result` runs in one task only."""
    pending = iter(plans)
    send, receive = anyio.create_memory_object_stream[AttemptOutput](max(workers, 1))

    async def worker(results: MemoryObjectSendStream[AttemptOutput]) -> None:
        async with results:
            # The iterator is shared: tasks take turns on one thread, so next() never races.
            for plan in pending:
                await results.send(await run_one(plan))

    async with anyio.create_task_group() as tasks:
        async with send:
            for _ in range(max(workers, 1)):
                tasks.start_soon(worker, send.clone())
        async with receive:
            async for output in receive:
                on_result(output)
