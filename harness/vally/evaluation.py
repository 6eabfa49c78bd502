"""`harness vally eval` as a whole: flags checked and the evals selected, validated and planned
(every problem exit 2 before any agent starts), the run folder made, the trials run, the
documents written, the exit code decided (0 / 1, 130 on Ctrl+C)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from harness.config.schema import RecordMode, parse_mode
from harness.errors import (
    EXIT_FAILED,
    EXIT_INFRA,
    EXIT_INTERRUPTED,
    EXIT_OK,
    ConfigError,
    UsageError,
)
from harness.grading.vally.catalogue import LLM_GRADERS
from harness.grading.vally.judges import JudgeConfig
from harness.grading.vally.metrics import parse_duration
from harness.grading.verdict import tag_of
from harness.plan.build import parse_models
from harness.vally import environments, lint
from harness.vally.documents import render_junit, render_markdown
from harness.vally.executors import Executor, resolve_executor
from harness.vally.model import EvalSpec, Skill
from harness.vally.outputs import RESULTS, Sink, create_run_folder, json_document, point_latest
from harness.vally.planning import Settings, Unit
from harness.vally.project import Project
from harness.vally.runner import RunEvents, Runner, RunOutcome
from harness.vally.select import Selection, select_evals
from harness.vally.tallies import Tallies
from harness.vally.toolbox import CATALOGUE_FILE, cassette_root, needs_catalogue

DEFAULT_OUTPUT_DIR = Path("vally-results")
DEFAULT_WORKERS = 5
DEFAULT_MAX_RETRIES = 2
COLLISION = (
    "--workspace cannot be used with multiple models: every model's trials would use the same "
    "workspace folders (<workspace>/<eval>/<stimulus>/trial-<n>) and overwrite each other; "
    "run one model at a time or leave out --workspace"
)


@dataclass(frozen=True)
class EvalOptions:
    eval_specs: tuple[Path, ...] = ()
    suite: str | None = None
    tags: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    runs: int | None = None
    workers: int = DEFAULT_WORKERS
    timeout: str | None = None
    threshold: float | None = None
    max_retries: int = DEFAULT_MAX_RETRIES
    shutdown_timeout: float = 5.0
    skip_grade: bool = False
    skip_validate: bool = False
    output_dir: Path = DEFAULT_OUTPUT_DIR
    junit: bool = False
    work_dir: Path | None = None
    workspace: Path | None = None
    judge_model: str | None = None
    judge_reasoning_effort: str | None = None
    judge_command: str | None = None
    skill_dir: Path | None = None
    agent_command: str | None = None
    mode: str = "live"
    cassette_dir: Path | None = None
    require_pass: bool = False
    cwd: Path = field(default_factory=Path.cwd)


@dataclass
class Prepared:
    selection: Selection
    settings: Settings
    executors: dict[str, Executor]  # eval name -> its executor
    warnings: list[str]
    planned: int


@dataclass
class EvalReport:
    exit_code: int
    run_dir: Path | None
    tallies: Tallies
    warnings: list[str]
    interrupted: bool = False
    validated_only: bool = False
    failed_stimuli: int = 0
    lost_trials: int = 0


def check_flags(options: EvalOptions) -> tuple[float | None, RecordMode, tuple[str, ...]]:
    timeout = None
    if options.timeout is not None:
        try:
            timeout = parse_duration(options.timeout)
        except ValueError as exc:
            raise UsageError(f"--timeout: {exc}") from None
    if options.threshold is not None and not 0 <= options.threshold <= 1:
        raise UsageError(f"--threshold must be between 0 and 1, got {options.threshold}")
    if options.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {options.workers}")
    if options.runs is not None and options.runs < 0:
        raise UsageError(f"--runs must be 0 or more, got {options.runs}")
    if options.max_retries < 0:
        raise UsageError(f"--max-retries must be 0 or more, got {options.max_retries}")
    try:
        mode = parse_mode(options.mode)
    except ValueError as exc:
        raise UsageError(f"--mode: {exc}") from None
    models = parse_models(options.models)
    if options.workspace is not None and len(models) > 1:
        raise UsageError(COLLISION)
    return timeout, mode, models


def prepare(options: EvalOptions) -> Prepared:
    timeout, mode, models = check_flags(options)
    selection = select_evals(
        options.eval_specs, suite=options.suite, tags=options.tags, cwd=options.cwd
    )
    warnings = list(selection.warnings)
    validate(selection.evals, options.skip_validate, warnings)
    skills = _skills(options.skill_dir)
    judge = judge_config(
        selection.project,
        selection.evals,
        command=options.judge_command,
        model=options.judge_model,
        reasoning_effort=options.judge_reasoning_effort,
        required=not options.skip_grade,
    )
    executors = {
        spec.name: resolve_executor(spec, selection.project, options.agent_command)
        for spec in selection.evals
    }
    settings = Settings(
        models=models,
        runs=options.runs,
        workers=options.workers,
        timeout_seconds=timeout,
        threshold=options.threshold,
        max_retries=options.max_retries,
        shutdown_timeout_seconds=options.shutdown_timeout,
        skip_grade=options.skip_grade,
        workspace_root=options.workspace.absolute() if options.workspace else None,
        work_dir=options.work_dir.absolute() if options.work_dir else None,
        skills=skills,
        judge=judge,
        mode=mode,
        cassette_dir=options.cassette_dir.absolute() if options.cassette_dir else None,
    )
    if options.work_dir is not None and not options.work_dir.is_dir():
        raise UsageError(f"--work-dir {options.work_dir}: not a folder")
    if mode is RecordMode.replay:
        _check_catalogues(selection.evals, settings)
    planned = sum(
        (settings.runs if settings.runs is not None else spec.runs)
        * len(spec.stimuli)
        * len(settings.models or (spec.model,))
        for spec in selection.evals
    )
    return Prepared(selection, settings, dict(executors), warnings, planned)


def validate(evals: Sequence[EvalSpec], skip: bool, warnings: list[str]) -> None:
    """Vally validates before it runs (`--skip-validate` turns lint's checks into warnings)."""
    errors = []
    for spec in evals:
        for diagnostic in lint.check_spec(spec):
            if diagnostic.severity == lint.ERROR and not skip:
                errors.append(diagnostic.text)
            else:
                warnings.append(f"{diagnostic.text} [{diagnostic.code}]")
    if errors:
        raise ConfigError(None, "\n".join(errors) + "\n(--skip-validate runs anyway)")


def _skills(folder: Path | None) -> tuple[Skill, ...] | None:
    if folder is None:
        return None
    found = environments.skills_in(folder.absolute())
    if isinstance(found, str):
        raise UsageError(found)  # Vally: a missing or non-directory --skill-dir fails the command
    return tuple(found)


def judge_config(
    project: Project,
    evals: Sequence[EvalSpec],
    *,
    command: str | None,
    model: str | None,
    reasoning_effort: str | None = None,
    required: bool = True,
) -> JudgeConfig:
    """The run's judge: --judge-command over harness.yaml's (or .vally.yaml's) `judge`; the
    model --judge-model, else the specs' judge_model. An LLM grader without a judge is an
    error before anything runs."""
    chosen: str | list[str] | None = command
    timeout = 120.0
    if chosen is None and project.judge is not None:
        chosen = project.judge.command
        if isinstance(chosen, list):
            chosen = [_beside(project.dir, part) for part in chosen]
        timeout = environments_duration(project.judge.timeout)
    graders = [g for spec in evals for s in spec.stimuli for g in s.graders]
    if required and chosen is None and any(tag_of(g) in LLM_GRADERS for g in graders):
        raise ConfigError(
            None,
            "prompt and panel graders need a judge: set `judge: {command: [...]}` in "
            "harness.yaml (or .vally.yaml), or pass --judge-command; it gets a JSON request on "
            "stdin (docs/vally.md)",
        )
    models = {spec.judge_model for spec in evals if spec.judge_model}
    chosen_model = model or (models.pop() if len(models) == 1 else None)
    return JudgeConfig(chosen, chosen_model, reasoning_effort, timeout)


def environments_duration(value: str | int | float) -> float:
    if isinstance(value, int | float):
        return float(value)
    return parse_duration(value)


def _beside(base: Path, element: str) -> str:
    path = base / element
    return str(path.absolute()) if not Path(element).is_absolute() and path.exists() else element


def _check_catalogues(evals: Sequence[EvalSpec], settings: Settings) -> None:
    for spec in evals:
        if needs_catalogue(spec):
            path = cassette_root(spec, settings.cassette_dir) / CATALOGUE_FILE
            if not path.is_file():
                raise ConfigError(
                    spec.shown,
                    f"--mode replay: no recorded MCP tools at {path}; record first with "
                    "--mode record (or --mode auto)",
                )


async def execute(options: EvalOptions, prepared: Prepared, events: RunEvents) -> EvalReport:
    """Run what `prepare` planned; the run folder holds everything, Ctrl+C included."""
    selection, settings = prepared.selection, prepared.settings
    if all((settings.runs if settings.runs is not None else s.runs) == 0 for s in selection.evals):
        return EvalReport(EXIT_OK, None, Tallies(), prepared.warnings, validated_only=True)
    root = create_run_folder(options.output_dir)
    sink = Sink(root)
    units = [Unit(spec, prepared.executors[spec.name], sink) for spec in selection.evals]
    runner = Runner(units, settings, run_id=root.name, events=events, log_dir=root / "tools")
    outcome = await runner.run(handle_signals=True)
    finish(sink, outcome, title=_title(selection.evals), junit=options.junit)
    point_latest(options.output_dir, root)
    return decide(outcome, prepared.warnings, root, require_pass=options.require_pass)


def _title(evals: Sequence[EvalSpec]) -> str:
    names = ", ".join(spec.name for spec in evals[:3])
    return f"Eval results: {names}" + (f" (+{len(evals) - 3} more)" if len(evals) > 3 else "")


def finish(sink: Sink, outcome: RunOutcome, *, title: str, junit: bool) -> None:
    """The documents: summary.json, eval-results.md and, with --junit, the JUnit XML."""
    summary = outcome.tallies.summary()
    summary["interrupted"] = outcome.interrupted
    sink.write_document("summary.json", json_document(summary))
    records = list(iter_records(sink.root / RESULTS))
    sink.write_document("eval-results.md", render_markdown(title, summary, records).encode())
    if junit:
        sink.write_document("eval-results.junit.xml", render_junit(title, records))


def decide(
    outcome: RunOutcome, warnings: list[str], root: Path, *, require_pass: bool
) -> EvalReport:
    """The exit code: 130 interrupted; 3 when a planned trial has no record (or two) though the
    run was not stopped; 1 when a trial was lost (an inconclusive run is not green) or, with
    --require-pass, a stimulus did not pass every trial; else 0, as Vally's eval exits."""
    tallies = outcome.tallies
    failed = sum(1 for tally in tallies if not tally.all_passed)
    lost = sum(tally.lost for tally in tallies)
    if outcome.interrupted:
        code = EXIT_INTERRUPTED
    elif not tallies.complete():
        code = EXIT_INFRA
    elif lost or (require_pass and failed):
        code = EXIT_FAILED
    else:
        code = EXIT_OK
    return EvalReport(
        code, root, tallies, warnings, outcome.interrupted, failed_stimuli=failed, lost_trials=lost
    )


def iter_records(path: Path) -> Iterator[dict[str, Any]]:
    """results.jsonl's records, one at a time."""
    try:
        with path.open("rb") as handle:
            for line in handle:
                if line.strip():
                    yield msgspec.json.decode(line)
    except FileNotFoundError:
        return
