"""`harness vally grade | compare | experiment run`: the commands over trial records and
experiments, printed as `vally_console` prints an eval."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import anyio

from harness.cli.vally_console import (
    ConsoleEvents,
    load_plugins,
    plain,
    refuse,
    stimulus_line,
    trial_line,
)
from harness.config.yaml_source import Problems
from harness.errors import UsageError
from harness.vally.compare import compare_runs, records_of
from harness.vally.evaluation import judge_config, validate
from harness.vally.executors import resolve_executor
from harness.vally.experiment import ExperimentPlan, load_experiment
from harness.vally.experiment_runs import run_experiment as run_variants
from harness.vally.load import Loader
from harness.vally.model import EvalSpec
from harness.vally.planning import Settings
from harness.vally.project import Project, load_project
from harness.vally.regrade import GradeSettings, read_records, regrade


def _one_spec(path: Path, cwd: Path) -> tuple[Project, EvalSpec]:
    problems, warnings = Problems(), list[str]()
    project = load_project(cwd, problems)
    spec = Loader(project, problems, warnings).load(path)
    problems.check()
    assert spec is not None
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return project, spec


def run_grade(flags: Mapping[str, Any], stdin: IO[str]) -> int:
    refuse({"output": flags.get("output")})
    load_plugins(flags.get("grader_plugin") or [])
    project, spec = _one_spec(flags["eval_spec"], Path.cwd())
    run = flags.get("run")
    if run is not None:
        source = Path(run) / "results.jsonl" if Path(run).is_dir() else Path(run)
        text, shown = _read(source), str(source)
    else:
        if stdin.isatty():
            raise UsageError(
                "pipe trial records in (vally eval --output jsonl | ...) or give --run"
            )
        text, shown = stdin.read(), "<stdin>"
    judge = judge_config(
        project, [spec], command=flags.get("judge_command"), model=flags.get("judge_model")
    )
    settings = GradeSettings(
        judge, flags.get("threshold"), flags.get("stimulus"), flags.get("workspace")
    )
    records = read_records(text, shown)
    graded, tallies = anyio.run(lambda: regrade(spec, records, settings))
    stream = flags.get("output") == "jsonl"
    out = sys.stderr if stream else sys.stdout
    for done, record in enumerate(graded, 1):
        if stream:
            print(json.dumps(record, ensure_ascii=False))
        print(trial_line(record, done, len(graded)), file=out)
        for grader in (record.get("gradeResult") or {}).get("graders", []):
            if flags.get("verbose") or not grader["passed"]:
                mark = "✔" if grader["passed"] else "✘"
                print(
                    f"      {mark} {plain(grader['name'], 60)}  {plain(grader['evidence'])}",
                    file=out,
                )
    for row in tallies.summary()["stimuli"]:
        print(stimulus_line(row), file=out)
    passed = all((record.get("gradeResult") or {}).get("passed") for record in graded)
    return 0 if passed and graded else 1


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None


def run_compare(flags: Mapping[str, Any]) -> int:
    specs = []
    project = load_project(Path.cwd(), Problems())
    for path in flags.get("eval_spec") or []:
        project, spec = _one_spec(path, Path.cwd())
        specs.append(spec)
    judge = judge_config(
        project, specs, command=flags.get("judge_command"), model=flags.get("judge_model")
    )
    if judge.command is None:
        raise UsageError(
            "compare needs a judge: set `judge: {command: [...]}` in harness.yaml or pass "
            "--judge-command"
        )
    a, b = records_of(flags["run_a"]), records_of(flags["run_b"])
    report = anyio.run(lambda: compare_runs(a, b, specs, judge))
    if flags.get("output") is not None:
        Path(flags["output"]).write_text(json.dumps(report) + "\n", encoding="utf-8")
    print_comparison(report, sys.stdout)
    summary = report["summary"]
    return 1 if summary["trialCount"] == 0 else 0


def print_comparison(report: Mapping[str, Any], out: IO[str], title: str = "B vs A") -> None:
    for stimulus in report["stimuli"]:
        for trial in stimulus["trials"]:
            where = f"{plain(stimulus['evalName'], 60)}/{plain(stimulus['stimulusName'], 80)}"
            if trial["errored"]:
                print(
                    f"  ⚠ {where} trial {trial['trialIndex']}: {plain(trial['evidence'])}", file=out
                )
            else:
                winner = {"treatment": "B better", "baseline": "A better", "tie": "tie"}[
                    trial["winner"]
                ]
                print(
                    f"  {where} trial {trial['trialIndex']}: {winner} ({trial['score']:+.2f})",
                    file=out,
                )
    summary, test = report["summary"], report["summary"]["signTest"]
    print(
        f"{title}: {summary['wins']} wins, {summary['losses']} losses, {summary['ties']} ties, "
        f"{summary['erroredCount']} errored; exact sign test over {test['discordant']} "
        f"discordant trial(s): p(B better) = {test['pTreatmentBetter']:.4f}, "
        f"p(B worse) = {test['pTreatmentWorse']:.4f}",
        file=out,
    )
    for side, key in (("A", "unmatchedBaseline"), ("B", "unmatchedTreatment")):
        if report[key]:
            print(f"unmatched in run {side}: {plain(', '.join(report[key]))}", file=out)


def run_experiment(flags: Mapping[str, Any]) -> int:
    cwd = Path.cwd()
    problems = Problems()
    project = load_project(cwd, problems)
    problems.check()
    plan = load_experiment(flags["experiment_file"], project, flags.get("variant"))
    specs = [spec for variant in plan.variants for spec in variant.specs]
    warnings: list[str] = []
    validate(specs, False, warnings)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    executors = {
        (variant.name, spec.name): resolve_executor(spec, project, flags.get("agent_command"))
        for variant in plan.variants
        for spec in variant.specs
    }
    settings = Settings(
        workers=flags["workers"],
        max_retries=flags["max_retries"],
        workspace_root=flags["workspace"].absolute() if flags.get("workspace") else None,
        judge=judge_config(
            project, specs, command=flags.get("judge_command"), model=flags.get("judge_model")
        ),
    )
    if flags["compare"] and settings.judge.command is None:
        raise UsageError(
            "--compare needs a judge: set `judge:` in harness.yaml or pass --judge-command"
        )
    planned = sum(spec.runs * len(spec.stimuli) for spec in specs)
    _print_plan(plan, planned)
    if flags["dry_run"]:
        return 0
    events = ConsoleEvents(sys.stdout, stream=False, verbose=False, planned=planned)
    report = anyio.run(
        lambda: run_variants(
            plan,
            executors,
            settings,
            output_dir=flags["output_dir"],
            events=events,
            compare=flags["compare"],
        )
    )
    for row in report.tallies.summary()["stimuli"]:
        print(stimulus_line(row))
    for name, comparison in report.comparisons.items():
        print_comparison(
            comparison, sys.stdout, title=f"{plain(name, 60)} vs {plain(plan.baseline.name, 60)}"
        )
    print(f"Saved artifacts: {report.run_dir} (report.md, <variant>/results.jsonl)")
    return report.exit_code


def _print_plan(plan: ExperimentPlan, planned: int) -> None:
    head = f"experiment {plain(plan.name)}: {len(plan.variants)} variant(s), {planned} trial(s)"
    print(f"{head}; vary {', '.join(plan.vary)}")
    for variant in plan.variants:
        mark = " (baseline)" if variant.baseline else ""
        evals = ", ".join(plain(spec.name, 40) for spec in variant.specs)
        overrides = plain(json.dumps(variant.overrides))
        print(f"  {plain(variant.name, 80)}{mark}: {evals}; overrides {overrides}")
