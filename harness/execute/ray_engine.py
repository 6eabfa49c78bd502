"""`--engine ray`: the run's attempts in shards of 16-32, each shard a Ray task that runs the same
attempt runner as a local run (harness.execute.ray_shard) on a copy of the suite folder.

The driver alone writes the run directory: shard outputs stream back as shards finish
(`ray.wait`), and each attempt id is written once, so a shard that Ray retries after losing a node
(`max_retries`, system failures only) never doubles a result. Ray is imported only here, and this
module only with `--engine ray` (extra `harness[ray]`).
"""

from __future__ import annotations

import functools
import logging
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import msgspec

from harness.agent.process import kill_all_groups
from harness.attempt.context import AttemptOutput
from harness.attempt.host import agent_reuse
from harness.attempt.spec import AttemptPlan
from harness.cassette.modes import Gateways
from harness.errors import InfrastructureError, UsageError
from harness.execute.folder import RunFolder
from harness.execute.options import RunOptions
from harness.execute.pool import STOP_FAIL_FAST, PoolSettings
from harness.execute.prepare import Prepared
from harness.execute.ray_shard import ShardJob, ShardReport, decode_output
from harness.results import AttemptResult

SHARD_MIN, SHARD_MAX = 16, 32
# Ray retries a shard whose worker or node died; an exception raised by our code is not retried.
SHARD_MAX_RETRIES = 3
WAIT_SECONDS = 0.2  # how often the driver's wait gives cancellation a chance
# Never shipped to the workers: environments, caches and run output.
EXCLUDES = [
    ".git",
    ".venv",
    "venv",
    "node_modules",
    "harness_out",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
]


@dataclass(frozen=True)
class RayRun:
    options: RunOptions
    suite_file: Path
    suite_dir: Path
    named: Sequence[Path]  # files the suite names outside its folder: agent, cassettes, cwd
    attempts: Sequence[AttemptPlan]
    workers_per_node: int
    reuse: str  # never | per_worker | fork


def shard_size(attempts: int, cpus: int) -> int:
    """16-32 attempts: large enough that Ray's per-task cost is spread thin, small enough that
    every core gets work and a lost node loses little."""
    return max(SHARD_MIN, min(SHARD_MAX, -(-attempts // max(cpus, 1))))


def shared_root(suite_dir: Path, paths: Sequence[Path]) -> Path:
    """The smallest folder holding the suite and the files it names (agent, cassettes)."""
    root = Path(os.path.commonpath([suite_dir, *paths]))
    if root == Path(root.anchor) or root == Path.home():
        raise UsageError(
            f"--engine ray: the suite in {suite_dir} names files as far apart as {root}; keep "
            "the agent and cassettes inside one project folder so it can be shipped to workers"
        )
    return root


def _connect(address: str | None, suite_dir: Path, named: Sequence[Path]) -> tuple[Any, Path, bool]:
    """Ray, and whether the suite folder is shipped as the job's working_dir. Ray accepts a
    local folder only when the job starts: a program that has already joined a cluster (the
    Python API, tests) runs shards on the paths as they are, so its workers must share them."""
    try:
        # Imported here, the one place: a run without --engine ray never loads Ray.
        import ray
    except ImportError:
        raise UsageError(
            "--engine ray needs Ray; install it with `pip install 'harness[ray]'`"
        ) from None
    if ray.is_initialized():
        return ray, Path(os.path.commonpath([suite_dir, *named])), False
    root = shared_root(suite_dir, named)
    ray.init(
        address=address,
        runtime_env={"working_dir": str(root), "excludes": EXCLUDES},
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.WARNING,
    )
    return ray, root, True


_remote_cache: dict[str, Any] = {}


def _shard_task(ray: Any) -> Any:
    if "task" not in _remote_cache:

        def run_shard_task(job: ShardJob) -> ShardReport:
            # Imported on the worker that runs the task (cloudpickle ships it by value).
            from harness.execute.ray_shard import run_shard

            # A shipped working_dir is the task's cwd; otherwise the driver's paths are shared.
            return run_shard(job, Path.cwd() if job.shipped else Path(job.root))

        _remote_cache["task"] = ray.remote(
            num_cpus=1, max_retries=SHARD_MAX_RETRIES, retry_exceptions=False
        )(run_shard_task)
    return _remote_cache["task"]


async def run_on_ray(
    job: RayRun,
    address: str | None,
    on_result: Callable[[AttemptOutput], None],
    write_stderr: Callable[[AttemptPlan, bytes], str],
    note: Callable[[str], None],
    *,
    stopped: Callable[[], bool] = lambda: False,
) -> None:
    """Run every attempt of `job` on the cluster; `on_result` sees each attempt once and `note`
    each distinct note of the workers once. Returns early, cancelling the shards still running,
    once `stopped()` says so."""
    # On the event loop's thread: Ray sets signal handlers as it starts, which only the main
    # thread may do. It blocks the loop for the 2-3 s a local cluster takes to start, once.
    ray, root, shipped = _connect(address, job.suite_dir, job.named)
    cpus = int(ray.cluster_resources().get("CPU", 1))
    size = shard_size(len(job.attempts), cpus)
    cwd = Path.cwd()
    cwd_rel = str(cwd.relative_to(root)) if cwd.is_relative_to(root) else None
    task = _shard_task(ray)
    by_id = {attempt.attempt_id: attempt for attempt in job.attempts}
    pending = []
    run_key = uuid.uuid4().hex
    for start in range(0, len(job.attempts), size):
        shard = ShardJob(
            options=job.options,
            root=str(root),
            suite_rel=str(job.suite_file.relative_to(root)),
            cwd_rel=cwd_rel,
            attempt_ids=tuple(a.attempt_id for a in job.attempts[start : start + size]),
            workers_per_node=job.workers_per_node,
            reuse=job.reuse,
            shipped=shipped,
            run_key=run_key,
        )
        pending.append(task.remote(shard))
    seen: set[str] = set()
    noted: set[str] = set()
    try:
        while pending and not stopped():
            ready, pending = await anyio.to_thread.run_sync(
                functools.partial(ray.wait, pending, num_returns=1, timeout=WAIT_SECONDS)
            )
            for ref in ready:
                report = _get(ray, ref)
                for message in report.notes:
                    if message not in noted:  # every worker that falls back says so
                        noted.add(message)
                        note(message)
                for item in report.outputs:
                    if item.attempt_id in seen or item.attempt_id not in by_id:
                        continue
                    seen.add(item.attempt_id)
                    result, output = decode_output(item)
                    if item.stderr:
                        path = write_stderr(by_id[item.attempt_id], item.stderr)
                        output.result = _with_stderr(result, path)
                    on_result(output)
    finally:
        for ref in pending:  # a stop or an error: the shards still running are not wanted
            ray.cancel(ref, force=True)


def _get(ray: Any, ref: Any) -> ShardReport:
    try:
        report: ShardReport = ray.get(ref)
    except ray.exceptions.RayError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InfrastructureError(f"--engine ray: a shard failed: {first}") from exc
    return report


def _with_stderr(result: AttemptResult, path: str) -> AttemptResult:
    return msgspec.structs.replace(result, stderr_path=path)


class RayEngine:
    """The run's attempts in shards on a Ray cluster (`--engine ray`, replay only: prepare_run
    checks the mode). Re-runs of failures (--rerun-failures) are the local engine's alone."""

    def __init__(self, prepared: Prepared, options: RunOptions, folder: RunFolder) -> None:
        self.prepared = prepared
        self.options = options
        self.folder = folder
        self.settings = PoolSettings(workers=prepared.workers, fail_fast=options.fail_fast)
        self.stop_reason: str | None = None

    def stop(self, reason: str) -> None:
        # The driver's wait sees it within WAIT_SECONDS and cancels the shards still running.
        self.stop_reason = reason

    def kill_now(self) -> None:
        kill_all_groups()

    async def run(self, attempts: Sequence[AttemptPlan], tools: Gateways) -> None:
        """Ship the suite's folder and run `attempts` on Ray; `tools` stay here (shards replay
        from the cassettes they were shipped)."""
        job = RayRun(
            options=self.options,
            suite_file=Path(self.prepared.suite.file),
            suite_dir=Path(self.prepared.suite.dir),
            named=_named_files(self.prepared),
            attempts=attempts,
            workers_per_node=self.prepared.workers,
            reuse=agent_reuse(self.options.agent_reuse, self.prepared.suite.agent_reuse),
        )
        await run_on_ray(
            job,
            self.options.ray_address,
            self._write,
            self._write_stderr,
            self.folder.note,
            stopped=lambda: self.stop_reason is not None,
        )

    def _write(self, output: AttemptOutput) -> None:
        self.folder.write(output)
        if self.settings.stops_at(output):
            self.stop(STOP_FAIL_FAST)

    def _write_stderr(self, attempt: AttemptPlan, data: bytes) -> str:
        path = self.folder.stderr_path(attempt)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return str(path)


def _named_files(prepared: Prepared) -> list[Path]:
    """Files the suite names outside its folder, which must be shipped with it: programs and
    arguments of the agent command, cassettes, the agent's cwd."""
    suite = prepared.suite
    named: list[Path] = []
    for spec in prepared.agents.values():
        # argv[0] is an interpreter each node has (found on its PATH, or at the same absolute
        # path), unless it is a program inside the suite's folder.
        program, *args = spec.argv
        inside = Path(program).is_relative_to(suite.dir)
        named += [Path(a) for a in ([program] if inside else []) + args if os.path.isabs(a)]
    named += [c.cassette_path for c in suite.cases if c.cassette_path is not None]
    if suite.agent_cwd is not None:
        named.append(Path(suite.agent_cwd))
    return [p for p in named if p.exists()]
