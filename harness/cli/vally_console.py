"""What `harness vally` prints: per-trial lines as trials end, per-stimulus statistics
(pass rate, pass@k, pass^k, flaky, lost trials) with the estimators named, the artifacts.
Agent text is printed plain, control characters escaped: nothing an agent writes can style
the console or move its cursor."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import anyio

from harness.errors import UsageError
from harness.grading.catalogue import load_plugin
from harness.grading.vally.metrics import parse_duration
from harness.vally.evaluation import (
    EvalOptions,
    EvalReport,
    execute,
    prepare,
)
from harness.vally.lint import lint_files
from harness.vally.runner import RunEvents
from harness.vally.tallies import PASS_AT_K_ESTIMATOR, PASS_HAT_K_ESTIMATOR

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
MAX_EVIDENCE = 200


def plain(text: object, limit: int = MAX_EVIDENCE) -> str:
    """Agent-written text safe for a terminal: one line, control characters escaped, cut."""
    value = str(text).replace("\n", " ").replace("\r", " ")
    value = _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", value)
    return value if len(value) <= limit else value[: limit - 3] + "..."


def load_plugins(modules: Sequence[str]) -> None:
    for module in modules:
        if "/" in module or module.endswith((".js", ".mjs", ".ts")) or module.startswith("@"):
            raise UsageError(
                f"--grader-plugin {module}: an npm package or a JavaScript file cannot run in "
                "harness; write the grader as a Python module (docs/graders.md) and name it"
            )
        load_plugin(module)


def refuse(flags: Mapping[str, Any]) -> None:
    """Vally flags harness cannot honour, each with the reason (never silently ignored)."""
    if flags.get("executor_plugin"):
        raise UsageError(
            "--executor-plugin: harness runs executors as programs; name one under `executors:` "
            "in harness.yaml ({command: [...]}) or pass --agent-command"
        )
    if flags.get("eval_plugin"):
        raise UsageError(
            "--eval-plugin: eval provider plugins are npm packages harness cannot load"
        )
    if flags.get("backend") not in (None, "local"):
        raise UsageError(
            f"--backend {flags['backend']}: harness runs trials locally, each in a fresh workspace"
        )
    if flags.get("otlp_endpoint"):
        raise UsageError("--otlp-endpoint: harness exports no OTel traces; session logs hold them")
    if flags.get("output") not in (None, "jsonl"):
        raise UsageError(f"--output {flags['output']}: the only format is jsonl")


class ConsoleEvents(RunEvents):
    def __init__(self, out: IO[str], *, stream: bool, verbose: bool, planned: int) -> None:
        self.out = out
        self.stream = stream
        self.verbose = verbose
        self.planned = planned
        self.done = 0

    def trial_finished(self, record: Mapping[str, Any]) -> None:
        self.done += 1
        if self.stream:
            print(json.dumps(record, ensure_ascii=False), flush=True)
        print(trial_line(record, self.done, self.planned), file=self.out, flush=True)
        grade = record.get("gradeResult") or {}
        for grader in grade.get("graders", []):
            if self.verbose or not grader["passed"]:
                sign = "✔" if grader["passed"] else "✘"
                text = f"      {sign} {plain(grader['name'], 60)}  {plain(grader['evidence'])}"
                print(text, file=self.out)


def trial_line(record: Mapping[str, Any], done: int, planned: int) -> str:
    where = f"{plain(record['evalName'], 60)}/{plain(record['stimulusName'], 80)}"
    if record.get("variant"):
        where = f"{plain(record['variant'], 40)}:{where}"
    model = plain(record.get("model") or "default", 60)
    head = f"[{done}/{planned}] {where} [{model}] trial {record['trialIndex']}"
    seconds = record["durationMs"] / 1000
    harness = record["harness"]
    grade = record.get("gradeResult")
    if harness["outcome"] == "infra_error":
        reason = plain(harness.get("infraReason") or record.get("error") or "")
        return f"  • {head}  lost (infrastructure, not counted): {reason}"
    if record["status"] == "error":
        return f"  ⚠ {head}  error: {plain(record.get('error') or '')}  {seconds:.1f}s"
    if grade is None:
        return f"  ○ {head}  ungraded  {seconds:.1f}s"
    mark = "✔" if grade["passed"] else "✘"
    return f"  {mark} {head}  score {grade['score']:.2f}  {seconds:.1f}s"


def print_summary(report: EvalReport, out: IO[str], *, max_retries: int) -> None:
    rows = report.tallies.summary()["stimuli"]
    if not rows:
        return
    print("", file=out)
    print(f"pass@k: {PASS_AT_K_ESTIMATOR}", file=out)
    print(f"pass^k: {PASS_HAT_K_ESTIMATOR}", file=out)
    print(
        "        (Vally's docs contradict themselves on pass@k: their example, 0.99 for 4 of 5, "
        "is the naive 1-(1-p)^k; harness uses the unbiased estimator its reference names)",
        file=out,
    )
    print(
        f"retries: infrastructure errors are retried up to {max_retries} time(s), multi-trial "
        "runs included (Vally turns retries off at runs >= 2); a retry never counts as a "
        "trial, and a trial still lost is left out of n",
        file=out,
    )
    for row in rows:
        print(stimulus_line(row), file=out)


def stimulus_line(row: Mapping[str, Any]) -> str:
    name = f"{plain(row['eval'], 60)}/{plain(row['stimulus'], 80)}"
    if row["variant"]:
        name = f"{plain(row['variant'], 40)}:{name}"
    mark = "✔" if row["passed"] else "✘"
    n, c, k = row["trialsCounted"], row["trialsPassed"], row["k"]
    text = f"{mark} {name} [{plain(row['model'] or 'default', 60)}]: {c}/{n} passed"
    if row["passRate"] is not None:
        low, high = row["passRateCi95"]
        text += (
            f" · pass rate {row['passRate'] * 100:.1f}% (95% CI {low * 100:.1f}-{high * 100:.1f}%)"
        )
    if row["passAtK"] is not None:
        text += f" · pass@{k} {row['passAtK']:.3f} · pass^{k} {row['passHatK']:.3f}"
    elif k > 1 and n:
        text += f" · pass@{k} n/a ({n} of {k} trials counted)"
    if row["flaky"]:
        text += " · flaky"
    if row["trialsLost"]:
        text += f" · {row['trialsLost']} trial(s) lost"
    if row["trialsMissing"]:
        text += f" · {len(row['trialsMissing'])} trial(s) missing"
    return text


def run_eval(flags: Mapping[str, Any]) -> int:
    refuse(flags)
    load_plugins(flags.get("grader_plugin") or [])
    options = EvalOptions(
        eval_specs=tuple(flags.get("eval_spec") or ()),
        suite=flags.get("suite"),
        tags=tuple(flags.get("tag") or ()),
        models=tuple(flags.get("model") or ()),
        runs=flags.get("runs"),
        workers=flags["workers"],
        timeout=flags.get("timeout"),
        threshold=flags.get("threshold"),
        max_retries=flags["max_retries"],
        shutdown_timeout=_seconds(flags["shutdown_timeout"], "--shutdown-timeout"),
        skip_grade=flags["skip_grade"],
        skip_validate=flags["skip_validate"],
        output_dir=flags["output_dir"],
        junit=flags["junit"],
        work_dir=flags.get("work_dir"),
        workspace=flags.get("workspace"),
        judge_model=flags.get("judge_model"),
        judge_reasoning_effort=flags.get("judge_reasoning_effort"),
        judge_command=flags.get("judge_command"),
        skill_dir=flags.get("skill_dir"),
        agent_command=flags.get("agent_command"),
        mode=flags["mode"],
        cassette_dir=flags.get("cassette_dir"),
        require_pass=flags["require_pass"],
    )
    stream = flags.get("output") == "jsonl"
    out = sys.stderr if stream else sys.stdout
    prepared = prepare(options)
    for warning in prepared.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    events = ConsoleEvents(out, stream=stream, verbose=flags["verbose"], planned=prepared.planned)
    report = anyio.run(lambda: execute(options, prepared, events))
    if report.validated_only:
        print("validated, nothing run (runs: 0)", file=sys.stderr)
        return report.exit_code
    print_summary(report, out, max_retries=options.max_retries)
    _closing(report, out, require_pass=options.require_pass)
    return report.exit_code


def _closing(report: EvalReport, out: IO[str], *, require_pass: bool) -> None:
    if report.interrupted:
        print("interrupted: finished trials are in results.jsonl", file=sys.stderr)
    if report.failed_stimuli and not require_pass:
        print(
            f"{report.failed_stimuli} stimulus(es) did not pass; exit 0 as Vally's eval "
            "(pass --require-pass to fail the run)",
            file=out,
        )
    if report.lost_trials:
        print(f"{report.lost_trials} trial(s) lost to infrastructure errors: exit 1", file=out)
    if report.run_dir is not None:
        print(f"Saved artifacts: {report.run_dir}", file=out)
        print(f"  JSONL    → {report.run_dir / 'results.jsonl'}", file=out)
        print(f"  Markdown → {report.run_dir / 'eval-results.md'}", file=out)


def _seconds(value: str, flag: str) -> float:
    try:
        return float(value) if value.replace(".", "", 1).isdigit() else parse_duration(value)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None


def run_lint(path: Path | None, specs: list[Path], plugins: list[str], strict: bool) -> int:
    load_plugins(plugins)
    diagnostics = lint_files(path, specs, cwd=Path.cwd())
    errors = [d for d in diagnostics if d.severity == "error"]
    for diagnostic in diagnostics:
        print(diagnostic.render())
    warned = len(diagnostics) - len(errors)
    print(f"{len(errors)} error(s), {warned} warning(s)")
    return 1 if errors or (strict and warned) else 0
