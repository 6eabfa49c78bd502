"""What to run and how: the frozen options a run starts from (the CLI builds them from flags)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from harness.execute.pool import DEFAULT_SHUTDOWN_TIMEOUT_SECONDS
from harness.grading.engine import GradeOptions
from harness.storage.history import DEFAULT_DB
from harness.storage.latest import DEFAULT_OUTPUT_DIR

__all__ = ["DEFAULT_OUTPUT_DIR", "GateOptions", "RunOptions", "default_workers"]


def default_workers() -> int:
    return 2 * (os.cpu_count() or 1)


@dataclass(frozen=True)
class GateOptions:
    """The gate's part of RunOptions: baseline, history, incremental runs, re-runs, reports."""

    baseline: Path | None = None
    export_baseline: Path | None = None
    db: str | None = DEFAULT_DB  # None: keep no history
    incremental: bool = False
    no_cache: bool = False  # --refresh-cache / --no-cache: ignore the history for reuse
    rerun_failures: int = 0
    quarantine_flaky: bool = False
    reports: dict[str, Path] = field(default_factory=dict)  # kind -> path (harness ci)


@dataclass(frozen=True)
class RunOptions:
    """What to run and how. Unset fields fall back to the suite file, then to defaults."""

    suite: str | Path
    mode: str | None = None
    case_ids: tuple[str, ...] = ()
    workers: int | None = None
    output_dir: Path | None = None
    strict: bool | None = None
    # Sweeps (see harness.plan, harness.execute.retry, harness.execute.pool)
    tags: tuple[str, ...] = ()  # `key=v1,v2` filters: AND across, OR within
    models: tuple[str, ...] = ()  # `a,b` entries; replace the suite's and cases' models
    runs: int | None = None  # trials per case and model; 0 validates only
    max_retries: int | None = None  # retries of infrastructure failures (default 2)
    fail_fast: bool = False
    shutdown_timeout_seconds: float = DEFAULT_SHUTDOWN_TIMEOUT_SECONDS
    agent_reuse: str | None = None  # never | per_worker; wins over the suite's agent_reuse
    engine: str = "local"  # local | ray (execute.ray_engine); --workers is per node with ray
    ray_address: str | None = None  # an existing Ray cluster; None starts a local one
    # Baseline, history, incremental runs, re-runs, reports (see harness.execute.finish)
    gate: GateOptions = field(default_factory=GateOptions)
    # Grading (see harness.grading): --skip-grade, --threshold, --judge-*, --workspace
    grade: GradeOptions = field(default_factory=GradeOptions)
    workspace_dir: Path | None = None  # keep each attempt's workspace under DIR/<run_id>/
    grader_plugins: tuple[str, ...] = ()  # modules that register grader types
    allow_ineffective: bool = False  # run assertions that can never fail
    clean_env: bool = False  # agents get only the suite's agent_env_allow, else CLEAN_ENV
    # The folder every file the suite names must be in (harness.config.containment); None: the
    # suite's git work tree, else its folder. A Ray shard names its copy of the shipped folder.
    project_root: Path | None = None
