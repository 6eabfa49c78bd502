"""One shard of a run, on whatever machine runs it: re-plan the suite from its copy there, run the
shard's attempts with the same attempt runner and pool as a local run, hand the outputs back.

Nothing here imports Ray: a Ray task calls `run_shard`, and so can a test.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import queue
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import msgspec
from anyio.from_thread import BlockingPortal

from harness.attempt.context import AttemptContext, AttemptOutput
from harness.attempt.forked import ForkServers
from harness.attempt.host import AgentHost
from harness.attempt.persistent import KeptProcesses
from harness.attempt.run import run_attempt
from harness.attempt.spec import AttemptPlan
from harness.attempt.trace import Trace
from harness.cassette.modes import Gateways
from harness.excerpts import redacting
from harness.execute.options import RunOptions
from harness.execute.pool import Pool, PoolSettings
from harness.execute.prepare import Prepared, prepare_run
from harness.results import AttemptResult


@dataclass(frozen=True)
class ShardJob:
    """What a shard needs, in a form that pickles: the run's options (their suite path relative
    to `root`, the folder shipped as the task's working_dir) and the ids of its attempts."""

    options: RunOptions
    root: str  # the driver's folder that the working_dir copies
    suite_rel: str
    cwd_rel: str | None  # the driver's cwd inside root, if it is
    attempt_ids: tuple[str, ...]
    workers_per_node: int
    reuse: str  # never | per_worker | fork
    shipped: bool = True  # the suite's folder came as the task's working_dir
    run_key: str = ""  # the same for every shard of one run


@dataclass(frozen=True)
class ShardOutput:
    """One attempt's result (JSON bytes), trace events and stderr, as the driver writes them."""

    attempt_id: str
    result: bytes
    events: list[dict[str, Any]]
    stderr: bytes | None


@dataclass(frozen=True)
class ShardReport:
    """What a shard hands back: each attempt's output, and what the worker did otherwise than
    asked while it ran (a fork server's fallback to spawning), for the driver to say once."""

    outputs: list[ShardOutput]
    notes: list[str]


# Agents kept between two shards that a worker process runs are ended after this long idle:
# shards of one run follow each other closely; after the run nothing should linger.
IDLE_SECONDS = 2.0


class _Loop:
    """The worker process's event loop, on a daemon thread, kept from one shard to the next so
    that the agents it keeps (persistent agents) and its fork servers (one per agent command
    and Ray worker) serve the following shards too."""

    def __init__(self) -> None:
        ready: queue.Queue[tuple[BlockingPortal, KeptProcesses, ForkServers]] = queue.Queue()
        thread = threading.Thread(target=anyio.run, args=(self._main, ready), daemon=True)
        thread.start()
        self.portal, self.slots, self.forks = ready.get()
        self.generation = 0  # shards started: an idle timer only fires if none started since
        self.run_key = ""

    @staticmethod
    async def _main(
        ready: queue.Queue[tuple[BlockingPortal, KeptProcesses, ForkServers]],
    ) -> None:
        async with (
            BlockingPortal() as portal,
            KeptProcesses() as slots,
            ForkServers(note=_log_note) as forks,
        ):
            ready.put((portal, slots, forks))
            await portal.sleep_until_stopped()

    async def close_idle(self) -> None:
        await self.slots.close_idle()
        await self.forks.close()

    async def reap_when_idle(self, generation: int) -> None:
        await anyio.sleep(IDLE_SECONDS)
        if self.generation == generation:
            await self.close_idle()


_loop: _Loop | None = None
# Notes said since the running shard started: it hands them to the driver (one shard at a time
# runs in a worker process), which writes them to the console and run.json.
_notes: list[str] = []


def _log_note(message: str) -> None:
    logging.getLogger("harness.ray_shard").warning("%s", message)
    _notes.append(message)


def run_shard(job: ShardJob, base: Path) -> ShardReport:
    """Run the shard with the suite's copy at `base` (blocking, on the process's loop)."""
    global _loop
    if job.cwd_rel is not None:
        os.chdir(base / job.cwd_rel)
    if _loop is None:
        _loop = _Loop()
    loop = _loop
    loop.generation += 1
    if job.run_key != loop.run_key:  # a new run: its agent files may have changed
        loop.portal.call(loop.close_idle)
        loop.run_key = job.run_key
    try:
        return loop.portal.call(_run_shard, job, base, loop)
    finally:
        loop.portal.start_task_soon(loop.reap_when_idle, loop.generation)


async def _run_shard(job: ShardJob, base: Path, loop: _Loop) -> ShardReport:
    _notes.clear()
    prepared = _prepare(job, base)
    with redacting(prepared.tooling.redactor.text):  # as a local run: redacted before cut
        return await _run_prepared_shard(job, base, prepared, loop)


async def _run_prepared_shard(
    job: ShardJob, base: Path, prepared: Prepared, loop: _Loop
) -> ShardReport:
    host: AgentHost | None = None
    if job.reuse == "per_worker":
        host = loop.slots
    elif job.reuse == "fork":
        suite = prepared.suite
        await loop.forks.start(prepared.agents.values(), suite.preload, suite.file)
        host = loop.forks
    by_id = {attempt.attempt_id: attempt for attempt in prepared.plan.attempts}
    attempts = [by_id[attempt_id] for attempt_id in job.attempt_ids]
    # --workers is per node: the node's cores share it, one shard task per core.
    workers = max(1, -(-job.workers_per_node // (os.cpu_count() or 1)))
    outputs: list[ShardOutput] = []
    with tempfile.TemporaryDirectory(prefix="harness-shard-") as tmp:
        logs = Path(tmp)

        def log_path(attempt: AttemptPlan) -> Path:
            return logs / f"{len(by_id)}-{attempt.attempt_id.replace('/', '_')}.log"

        tools = Gateways(prepared.tooling)  # replay: redaction and matching, as run locally
        context = AttemptContext(
            tool_registry=prepared.suite.tool_registry,
            strict=prepared.strict,
            grading=job.options.grade,
            host=host,
            redact_stderr=tools.redactor,
            gateway_for=tools.for_case,
        )

        async def run_one(attempt: AttemptPlan, try_number: int) -> AttemptOutput:
            return await run_attempt(
                attempt, prepared.agents[attempt.model], context, stderr_path=log_path(attempt)
            )

        def on_result(output: AttemptOutput) -> None:
            result = _relocate(output.result, str(base), job.root)
            path = log_path_by_id[result.attempt_id or result.case_id]
            stderr = path.read_bytes() if path.exists() else None
            outputs.append(
                ShardOutput(
                    attempt_id=result.attempt_id or result.case_id,
                    result=msgspec.json.encode(result),
                    events=output.trace.events,
                    stderr=stderr,
                )
            )

        log_path_by_id = {attempt.attempt_id: log_path(attempt) for attempt in attempts}
        pool = Pool(PoolSettings(workers=workers, retry=prepared.retry))
        await pool.run(attempts, run_one, on_result)
    notes = list(_notes)
    _notes.clear()
    return ShardReport(outputs, notes)


# A Ray worker process runs many shards of one run: the suite is loaded and planned once per run,
# not once per shard (that would cost O(cases) per shard, O(cases^2) per run).
_prepared: dict[tuple[str, str], Prepared] = {}


def _prepare(job: ShardJob, base: Path) -> Prepared:
    key = (job.run_key, str(base))
    if not job.run_key or key not in _prepared:
        # A shipped copy holds everything the suite names (ray_engine.shared_root), but not
        # `.git`: its root is the project. Unshipped, the driver's own paths (and project) hold.
        options = dataclasses.replace(
            job.options,
            suite=base / job.suite_rel,
            engine="local",
            project_root=base if job.shipped else job.options.project_root,
        )
        _prepared.clear()  # one run at a time is kept
        _prepared[key] = prepare_run(options)
    return _prepared[key]


def decode_output(item: ShardOutput) -> tuple[AttemptResult, AttemptOutput]:
    """The driver's side: the result and an AttemptOutput its on_result can write."""
    result = msgspec.json.decode(item.result, type=AttemptResult)
    trace = Trace(result.case_id, result.attempt_id)
    trace.events = item.events
    return result, AttemptOutput(result=result, trace=trace)


def _relocate(result: AttemptResult, here: str, there: str) -> AttemptResult:
    """Paths in the result as the driver knows them, not as this worker's copy has them."""
    cassette = result.cassette_path
    if cassette is not None and cassette.startswith(here):
        cassette = there + cassette[len(here) :]
    return msgspec.structs.replace(result, cassette_path=cassette, stderr_path=None)
