"""Run the trials over harness's worker pool: each trial in a fresh workspace, its agent under
live budgets with its tool calls through the toolbox's gateway, its trajectory graded, its
record written as soon as it ends. Infrastructure errors are retried (multi-trial runs
included: a retry never counts as a trial) and, if they persist, reported as lost trials."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from harness.attempt.build import Ending, build_result, failure_of
from harness.attempt.context import AttemptContext, AttemptOutput
from harness.attempt.run import run_attempt
from harness.attempt.spec import AttemptPlan
from harness.attempt.trace import Trace
from harness.attempt.workspace import WorkspaceError
from harness.cassette.redact import Redactor
from harness.config.schema import Budgets, Case
from harness.excerpts import redacting
from harness.execute.pool import STOP_INTERRUPTED, Pool, PoolSettings
from harness.execute.retry import RetryPolicy
from harness.grading.engine import GradeOptions, Grading
from harness.grading.verdict import tag_of
from harness.results import AttemptResult
from harness.storage.runs import safe_name
from harness.vally import workspaces
from harness.vally.planning import (
    Settings,
    Trial,
    Unit,
    attempt_plan,
    case_for,
    plan_trials,
    trial_cassette,
)
from harness.vally.records import trial_record
from harness.vally.tallies import Tallies
from harness.vally.toolbox import Toolbox, server_credentials
from harness.vally.trajectories import build_trajectory
from harness.vally.trials import grade_trajectory, graded


class RunEvents:
    """Hooks for the console; every method is optional to override."""

    def trial_finished(self, record: Mapping[str, Any]) -> None:
        pass

    def warning(self, message: str) -> None:
        pass


@dataclass
class RunOutcome:
    tallies: Tallies
    records: list[dict[str, Any]]
    interrupted: bool = False
    planned: int = 0


@dataclass
class _Finished:
    trajectory: dict[str, Any]
    grading: Grading | None
    started_at: str


@dataclass
class Runner:
    units: Sequence[Unit]
    settings: Settings
    run_id: str
    events: RunEvents = field(default_factory=RunEvents)
    log_dir: Path | None = None

    def __post_init__(self) -> None:
        specs = [unit.spec for unit in self.units]
        self.redactor = Redactor(None, os.environ, extra_env=server_credentials(specs))
        self.toolbox = Toolbox(
            self.settings.mode, self.settings.cassette_dir, self.redactor, self.log_dir
        )
        self.trials = {t.attempt_id: t for t in plan_trials(self.units, self.settings)}
        self.finished: dict[str, _Finished] = {}
        self.tallies = Tallies()
        self.records: list[dict[str, Any]] = []
        self.env = {k: v for k, v in os.environ.items() if k not in server_credentials(specs)}
        for trial in self.trials.values():
            slot = trial.slot
            self.tallies.plan(slot.group, trial.unit.runs(self.settings))

    async def run(self, *, handle_signals: bool = False) -> RunOutcome:
        settings = self.settings
        retry = RetryPolicy(max_retries=settings.max_retries)
        pool = Pool(
            PoolSettings(
                settings.workers, retry, shutdown_timeout_seconds=settings.shutdown_timeout_seconds
            ),
            on_retry=self._keep_failed_try,
        )
        recorder_cases = [_recorder_case(trial, settings) for trial in self.trials.values()]
        # Every cut the run makes is of redacted text (harness.excerpts), as in `harness run`.
        with redacting(self.redactor.text):
            await self._run_pool(pool, recorder_cases, handle_signals)
        for unit in self.units:
            unit.sink.close()
        return RunOutcome(
            self.tallies, self.records, pool.stop_reason == STOP_INTERRUPTED, len(self.trials)
        )

    async def _run_pool(self, pool: Pool, recorder_cases: list[Any], handle_signals: bool) -> None:
        async with anyio.create_task_group() as tasks:
            if handle_signals:
                tasks.start_soon(_watch_signals, pool)
            async with self.toolbox.opened([u.spec for u in self.units], recorder_cases):
                plans = [self._plan(trial) for trial in self.trials.values()]
                await pool.run(plans, self._run_one, self._on_result)
            tasks.cancel_scope.cancel()

    def _plan(self, trial: Trial) -> AttemptPlan:
        tools = self.toolbox.offered(trial.unit.spec, trial.stimulus)
        return attempt_plan(trial, case_for(trial, self.settings, tools))

    async def _run_one(self, plan: AttemptPlan, try_number: int) -> AttemptOutput:
        trial = self.trials[plan.attempt_id]
        started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        keep_at = self._keep_at(trial)
        snapshot = any(tag_of(g).startswith("diff-") for g in trial.stimulus.graders)
        try:
            prepared = await workspaces.prepare(
                trial.stimulus.environment,
                trial.skills(self.settings),
                keep_at=keep_at,
                work_dir=self.settings.work_dir,
                snapshot=snapshot,
            )
        except WorkspaceError as exc:
            return self._not_started(plan, trial, exc, started)
        try:
            return await self._converse(plan, trial, prepared, started)
        finally:
            await workspaces.remove(prepared)

    async def _converse(
        self, plan: AttemptPlan, trial: Trial, prepared: workspaces.Prepared, started: str
    ) -> AttemptOutput:
        spec, stimulus = trial.unit.spec, trial.stimulus
        tools = plan.case.input["mcpServers"]
        registry = frozenset(name for names in tools.values() for name in names)
        context = AttemptContext(
            tool_registry=registry,
            strict=False,
            grading=GradeOptions(skip=True),
            redact_stderr=self.redactor,
            gateway_for=lambda case: self.toolbox.gateway(case, spec, stimulus),
        )
        agent = dataclasses.replace(
            trial.unit.executor.agent(trial.model, self.env), cwd=prepared.path
        )
        stderr = trial.unit.sink.session_dir(trial.slot) / "stderr.log"
        await anyio.to_thread.run_sync(lambda: stderr.parent.mkdir(parents=True, exist_ok=True))
        output = await run_attempt(plan, agent, context, stderr_path=stderr)
        trajectory = self._trajectory(trial, output, prepared)
        grading = None
        answered = trajectory["endReason"] == "completed"
        if answered and not self.settings.skip_grade and not output.retryable:
            threshold = (
                self.settings.threshold if self.settings.threshold is not None else spec.threshold
            )
            grading = await grade_trajectory(
                stimulus,
                trajectory,
                workspace=prepared.path,
                baseline=prepared.baseline,
                judge=self.settings.judge,
                threshold=threshold,
            )
            output.result = graded(output.result, grading)
        self.finished[plan.attempt_id] = _Finished(trajectory, grading, started)
        return output

    def _trajectory(
        self, trial: Trial, output: AttemptOutput, prepared: workspaces.Prepared
    ) -> dict[str, Any]:
        result = output.result
        metadata = {
            "model": trial.model,
            "executor": trial.unit.executor.name,
            "variant": trial.unit.variant,
            "evalName": trial.unit.spec.name,
            "trialIndex": trial.index,
            "seed": result.seed,
            "setupSnapshot": str(prepared.baseline)
            if prepared.kept and prepared.baseline
            else None,
        }
        work_dir = str(prepared.path) if prepared.kept else None
        return build_trajectory(
            output.trace.events,
            result,
            stimulus=trial.stimulus.payload(),
            work_dir=work_dir,
            metadata=metadata,
        )

    def _not_started(
        self, plan: AttemptPlan, trial: Trial, exc: WorkspaceError, started: str
    ) -> AttemptOutput:
        trace = Trace(plan.case.id, plan.attempt_id)
        trace.error(exc.kind, exc.message)
        result, _ = build_result(plan, [failure_of(exc)], Ending(wall_ms=0))
        output = AttemptOutput(result=result, trace=trace)
        trajectory = build_trajectory(
            trace.events, result, stimulus=trial.stimulus.payload(), work_dir=None, metadata={}
        )
        self.finished[plan.attempt_id] = _Finished(trajectory, None, started)
        return output

    def _keep_at(self, trial: Trial) -> Path | None:
        slot = trial.slot
        if self.settings.workspace_root is not None:
            base = self.settings.workspace_root / safe_name(slot.eval_name)
            if trial.unit.variant:
                base = (
                    self.settings.workspace_root
                    / safe_name(trial.unit.variant)
                    / safe_name(slot.eval_name)
                )
            return base / safe_name(slot.stimulus) / f"trial-{slot.trial_index}"
        if self.settings.skip_grade:
            folder = trial.unit.sink.root / "workspaces" / safe_name(slot.eval_name)
            return (
                folder
                / safe_name(slot.model or "default")
                / safe_name(slot.stimulus)
                / f"trial-{slot.trial_index}"
            )
        return None

    def _keep_failed_try(
        self, plan: AttemptPlan, output: AttemptOutput, try_number: int
    ) -> str | None:
        trial = self.trials[plan.attempt_id]
        stderr = trial.unit.sink.session_dir(trial.slot) / "stderr.log"
        if not stderr.exists():
            return None
        kept = stderr.with_name(f"stderr.try-{try_number}.log")
        os.replace(stderr, kept)
        return str(kept)

    def _on_result(self, output: AttemptOutput) -> None:
        result: AttemptResult = output.result
        trial = self.trials[result.attempt_id]
        finished = self.finished.pop(result.attempt_id, None)
        trajectory = finished.trajectory if finished else {}
        grading = finished.grading if finished else None
        record = trial_record(
            trial.slot,
            result,
            trajectory,
            grading,
            run_id=self.run_id,
            experiment=trial.unit.experiment,
        )
        record["harness"]["startedAt"] = finished.started_at if finished else None
        record = self.redactor.value(record)
        trial.unit.sink.write(trial.slot, record)
        self.tallies.add(record)
        self.records.append(record)
        self.events.trial_finished(record)


def _recorder_case(trial: Trial, settings: Settings) -> Case:
    """The little of a case the cassette recorder reads: its id and its cassette."""
    return Case(
        id=trial.case_id,
        input=None,
        cassette_path=trial_cassette(trial, settings),
        file=trial.unit.spec.file,
        line=trial.stimulus.line,
        description=None,
        assertions=(),
        budgets=Budgets(),
        normalization=None,
        schemas={},
    )


async def _watch_signals(pool: Pool) -> None:
    """First Ctrl+C (or SIGTERM): stop scheduling, end running trials, keep what finished.
    Second: kill every agent at once."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            if pool.stop_reason == STOP_INTERRUPTED:
                pool.kill_now()
            else:
                pool.stop(STOP_INTERRUPTED)
