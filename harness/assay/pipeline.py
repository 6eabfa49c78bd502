"""`harness assay run|ci`: Assay's eval pipeline over a trace file. Flags are checked, the
config and trace are read, every test is graded, the baseline applied, the outcome decided in
Assay's order, and the output files written into the working directory.

Every way out leaves a run.json and a summary.json behind (a minimal one on early failures),
as Assay does; the exit code is the outcome's.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from harness.assay import baseline as baselines
from harness.assay import codes
from harness.assay.baseline import BaselineError
from harness.assay.config import load_assay_config
from harness.assay.evaluate import EvalOptions, evaluate
from harness.assay.outputs import (
    minimal_run_document,
    render_junit,
    render_pr_comment,
    render_sarif,
    run_document,
    summary_document,
    write_json,
)
from harness.assay.traces import TraceError, read_trace
from harness.errors import ConfigError, HarnessError
from harness.grading.context import JudgeSettings
from harness.storage.atomic import atomic_write
from harness.storage.runs import new_run_id

if TYPE_CHECKING:
    from harness.assay.config import AssayConfig

QUARANTINE_MODES = ("off", "warn", "strict")
LIVE_ONLY = "harness replays trace files offline: precompute {what} into the trace's meta"


@dataclasses.dataclass(frozen=True)
class AssayOptions:
    command: str = "run"  # run | ci
    config: Path = Path("eval.yaml")
    db: str = ".eval/eval.db"
    trace_file: Path | None = None
    replay_strict: bool = False
    strict: bool = False
    baseline: Path | None = None
    export_baseline: Path | None = None
    incremental: bool = False
    exit_codes: str = "v2"
    judge: str = "none"
    judge_model: str | None = None
    judge_samples: int = 3
    embedder: str = "none"
    quarantine_mode: str = "warn"
    allow_ineffective: bool = False
    deny_deprecations: bool = False
    redact_prompts: bool = False
    no_verify: bool = False
    output_format: str = "text"
    junit: Path | None = None
    sarif: Path | None = None
    pr_comment: Path | None = None
    otel_jsonl: Path | None = None
    cwd: Path = Path(".")


@dataclasses.dataclass
class AssayReport:
    exit_code: int
    outcome: codes.Outcome
    rows: list[dict[str, Any]]
    summary: dict[str, Any]
    written: list[Path]


def refusal(options: AssayOptions) -> str | None:
    """Why these flags cannot run here (E_INVALID_ARGS), or None."""
    if options.baseline is not None and options.export_baseline is not None:
        return "--baseline and --export-baseline exclude each other; give one"
    if options.trace_file is None:
        return (
            "--trace-file is required: harness replays trace files only (Assay without one"
            " answers every prompt with the text 'passed'; harness does not pretend to)"
        )
    if options.incremental:
        return (
            "--incremental is not supported: harness keeps no eval database, so every test runs"
            " (its fingerprints cover the trace and the assertions; see run.json)"
        )
    if options.judge not in ("none", "openai", "fake") or options.embedder not in (
        "none",
        "openai",
        "fake",
    ):
        return "--judge and --embedder take none, openai or fake"
    if options.judge != "none":
        return f"--judge {options.judge}: " + LIVE_ONLY.format(what="judge results")
    if options.embedder != "none":
        return f"--embedder {options.embedder}: " + LIVE_ONLY.format(what="embeddings")
    if options.quarantine_mode not in QUARANTINE_MODES:
        return f"--quarantine-mode takes {', '.join(QUARANTINE_MODES)}"
    if options.exit_codes not in ("v1", "v2"):
        return "--exit-codes takes v1 or v2"
    if options.otel_jsonl is not None:
        return "--otel-jsonl is not supported: harness exports no OpenTelemetry spans here"
    return None


def run_assay(options: AssayOptions) -> AssayReport:
    started = time.perf_counter()
    problem = refusal(options)
    if problem is not None:
        return _early(options, codes.failure("E_INVALID_ARGS", problem, options.exit_codes))
    try:
        return anyio.run(_run, options, started)
    except ConfigError as exc:
        reason = getattr(exc, "reason", None) or _reason_of(exc)
        return _early(options, codes.failure(reason, str(exc), options.exit_codes))


def _reason_of(exc: ConfigError) -> str:

    if isinstance(exc, TraceError):
        return "E_TRACE_NOT_FOUND"
    if isinstance(exc, BaselineError):
        return "E_BASELINE_INVALID"
    return "E_CFG_PARSE"


async def _run(options: AssayOptions, started: float) -> AssayReport:

    config = load_assay_config(
        options.config,
        deny_deprecations=options.deny_deprecations,
        allow_ineffective=options.allow_ineffective,
    )
    assert options.trace_file is not None
    if not options.trace_file.is_file():
        raise TraceError(str(options.trace_file), "trace file not found")
    traces = read_trace(options.trace_file)
    warnings = [*config.warnings, *traces.warnings]
    entries: dict[tuple[str, str], Any] = {}
    if options.baseline is not None:
        entries, found = baselines.load_baseline(options.baseline, config)
        warnings += found
    judge = JudgeSettings(model=options.judge_model, samples=options.judge_samples)
    rows = await evaluate(config, traces, EvalOptions(judge, options.redact_prompts))
    if options.baseline is not None:
        baselines.compare(rows, entries, config)
    outcome = codes.decide(rows, strict=options.strict, version=options.exit_codes)
    outcome.warnings = warnings
    written = []
    if options.export_baseline is not None:
        baselines.export_baseline(options.export_baseline, config, rows)
        written.append(options.export_baseline)
    provenance = {
        "verify_mode": "disabled" if options.no_verify else "enabled",
        "trace_digest": "sha256:" + traces.sha256,
        "replay": True,
        "replay_mode": "trace",
    }
    seed = config.settings.get("seed")
    lines = {test.id: test.line for test in config.tests}
    total_ms = int((time.perf_counter() - started) * 1000)
    summary = summary_document(rows, outcome, provenance=provenance, total_ms=total_ms, seed=seed)
    run = run_document(new_run_id(), config.suite, rows, outcome, seed)
    cwd = options.cwd
    if options.command == "ci":
        written += _write_ci_outputs(options, config, rows, outcome, run, summary, lines)
    write_json(cwd / "run.json", run)
    write_json(cwd / "summary.json", summary)
    written += [cwd / "run.json", cwd / "summary.json"]
    return AssayReport(outcome.exit_code, outcome, rows, summary, written)


def _write_ci_outputs(
    options: AssayOptions,
    config: AssayConfig,
    rows: Sequence[dict[str, Any]],
    outcome: codes.Outcome,
    run: dict[str, Any],
    summary: dict[str, Any],
    lines: dict[str, int],
) -> list[Path]:
    """`assay ci`'s extra files: junit.xml, sarif.json and, when asked, the PR comment. SARIF
    results it had to leave out are counted in run.json and summary.json."""
    cwd = options.cwd
    junit = options.junit or Path("junit.xml")
    sarif_path = options.sarif or Path("sarif.json")
    (cwd / junit).parent.mkdir(parents=True, exist_ok=True)
    _write_bytes(cwd / junit, render_junit(config.suite, rows))
    sarif, omitted = render_sarif(rows, config.path, lines)
    write_json(cwd / sarif_path, sarif)
    written = [cwd / junit, cwd / sarif_path]
    if omitted:
        run["sarif"] = summary["sarif"] = {"omitted": omitted}
    if options.pr_comment is not None:
        comment = render_pr_comment(config.suite, rows, outcome).encode()
        _write_bytes(cwd / options.pr_comment, comment)
        written.append(cwd / options.pr_comment)
    return written


def _write_bytes(path: Path, data: bytes) -> None:

    atomic_write(path, data)


def _early(options: AssayOptions, outcome: codes.Outcome) -> AssayReport:
    """A config, trace or flag problem: Assay's minimal run.json and a summary, no results."""
    summary = summary_document(None, outcome, provenance={"verify_mode": "enabled"})
    written = []
    try:
        write_json(options.cwd / "run.json", minimal_run_document(outcome))
        write_json(options.cwd / "summary.json", summary)
        written = [options.cwd / "run.json", options.cwd / "summary.json"]
    except HarnessError as exc:
        outcome.warnings.append(str(exc))
    return AssayReport(outcome.exit_code, outcome, [], summary, written)
