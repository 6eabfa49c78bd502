"""The trials of a run: every (eval × variant) unit, stimulus, model and trial index, in
trial-major order (every stimulus and model's first trial, then the second, ...), so a run cut
short has covered every model alike; and each trial's harness case: the agent's input, its
live budgets and its cassette."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.attempt.spec import AttemptPlan
from harness.config.schema import Budgets, Case, RecordMode
from harness.grading.vally.judges import JudgeConfig
from harness.plan.build import seed_for
from harness.vally.executors import Executor
from harness.vally.model import DEFAULT_TIMEOUT_SECONDS, EvalSpec, Skill, Stimulus
from harness.vally.outputs import Sink
from harness.vally.records import Slot
from harness.vally.toolbox import cassette_path
from harness.vally.workspaces import skill_paths


@dataclass(frozen=True)
class Settings:
    """A run's settings, the command line's word over the specs'."""

    models: tuple[str, ...] = ()  # --model; empty: each spec's config.model
    runs: int | None = None
    workers: int = 5
    timeout_seconds: float | None = None
    threshold: float | None = None
    max_retries: int = 2
    shutdown_timeout_seconds: float = 5.0
    skip_grade: bool = False
    workspace_root: Path | None = None  # --workspace
    work_dir: Path | None = None  # --work-dir: each workspace starts as a copy
    skills: tuple[Skill, ...] | None = None  # --skill-dir
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    mode: RecordMode = RecordMode.live
    cassette_dir: Path | None = None


@dataclass(frozen=True)
class Unit:
    """One eval spec as one run of it: its executor, its variant, where its records go."""

    spec: EvalSpec
    executor: Executor
    sink: Sink
    variant: str | None = None
    experiment: Mapping[str, Any] | None = None

    def runs(self, settings: Settings) -> int:
        return settings.runs if settings.runs is not None else self.spec.runs

    def models(self, settings: Settings) -> tuple[str | None, ...]:
        return settings.models or (self.spec.model,)


@dataclass(frozen=True)
class Trial:
    unit: Unit
    stimulus: Stimulus
    model: str | None
    index: int  # 0-based trial index

    @property
    def slot(self) -> Slot:
        spec = self.unit.spec
        return Slot(
            spec.name, spec.shown, self.unit.variant, self.model, self.stimulus.name, self.index
        )

    @property
    def case_id(self) -> str:
        parts = [self.unit.variant, self.unit.spec.name, self.stimulus.name]
        return "/".join(part for part in parts if part)

    @property
    def attempt_id(self) -> str:
        return f"{self.case_id}/{self.model or 'default'}/{self.index}"

    def skills(self, settings: Settings) -> tuple[Skill, ...]:
        """The environment's skills; without any, the run's --skill-dir (Vally 0.8's rule: the
        spec's `environment.skills` replaces --skill-dir)."""
        own = self.stimulus.environment.skills
        return own if own is not None else (settings.skills or ())


def plan_trials(units: Sequence[Unit], settings: Settings) -> list[Trial]:
    longest = max((unit.runs(settings) for unit in units), default=0)
    return [
        Trial(unit, stimulus, model, index)
        for index in range(longest)
        for unit in units
        if index < unit.runs(settings)
        for stimulus in unit.spec.stimuli
        for model in unit.models(settings)
    ]


def budgets(trial: Trial, settings: Settings) -> Budgets:
    """The live limits: the trial's timeout (--timeout, else config.timeout, else 2m), and
    `constraints.max_turns` (a turn ends in a tool call or the answer, so max_turns allows
    max_turns - 1 tool calls) and `max_tokens` (on output tokens, live; the total is graded)."""
    seconds = settings.timeout_seconds or trial.unit.spec.timeout_seconds or DEFAULT_TIMEOUT_SECONDS
    wall_ms = max(1, round(seconds * 1000))
    constraints = trial.stimulus.constraints
    max_turns = constraints.max_turns if constraints else None
    return Budgets(
        max_wall_ms=wall_ms,
        max_idle_ms=wall_ms,  # no separate silence limit: a model may think for long
        max_tool_calls=None if max_turns is None else max_turns - 1,
        max_tokens_out=constraints.max_tokens if constraints else None,
    )


def agent_input(trial: Trial, settings: Settings, tools: Mapping[str, list[str]]) -> Any:
    """What the agent's task_start carries: `{prompt, stimulus, constraints}`, and what it
    may use: the skills copied into its workspace and the MCP tools it is offered."""
    constraints = trial.stimulus.constraints
    unit = trial.unit
    return {
        "prompt": trial.stimulus.prompt,
        "stimulus": {**trial.stimulus.payload(), "eval": unit.spec.name},
        "constraints": {
            "max_turns": constraints.max_turns if constraints else None,
            "max_tokens": constraints.max_tokens if constraints else None,
            "expect_tools": list(constraints.expect_tools) if constraints else [],
            "reject_tools": list(constraints.reject_tools) if constraints else [],
        },
        "skills": skill_paths(trial.skills(settings)),
        "mcpServers": {name: list(names) for name, names in tools.items()},
        "executorConfig": dict(unit.spec.executor_config),
        "model": trial.model,
        "variant": unit.variant,
        "trialIndex": trial.index,
    }


def case_for(trial: Trial, settings: Settings, tools: Mapping[str, list[str]]) -> Case:
    return Case(
        id=trial.case_id,
        input=agent_input(trial, settings, tools),
        cassette_path=trial_cassette(trial, settings),
        file=trial.unit.spec.file,
        line=trial.stimulus.line,
        description=trial.stimulus.description,
        assertions=(),
        budgets=budgets(trial, settings),
        normalization=None,
        schemas={},
    )


def trial_cassette(trial: Trial, settings: Settings) -> Path | None:
    if settings.mode is RecordMode.live or not trial.stimulus.environment.mcp_servers:
        return None
    return cassette_path(trial.unit.spec, trial.model, trial.stimulus, settings.cassette_dir)


def attempt_plan(trial: Trial, case: Case) -> AttemptPlan:
    return AttemptPlan(
        attempt_id=trial.attempt_id,
        case=case,
        model=trial.model,
        trial=trial.index + 1,
        seed=seed_for(trial.case_id, trial.index + 1),
    )
