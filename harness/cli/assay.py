"""`harness assay run|ci`: a drop-in for Assay 5.4's eval runner over trace files.

Every Assay flag is accepted by name; those harness cannot honour offline (a live judge or
embedder, --incremental, --otel-jsonl, no --trace-file) are refused with exit 2 and a reason,
never ignored. Outputs go to the working directory, as Assay's do.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from harness.cli.commands import WideHelpGroup

app = typer.Typer(
    name="assay",
    help="Run Assay V1 configs (eval.yaml) over trace files, with Assay's outputs and exit codes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    cls=WideHelpGroup,
)

Config = Annotated[Path, typer.Option("--config", help="The eval.yaml.")]
Db = Annotated[str, typer.Option("--db", help="Accepted; harness keeps no eval database.")]
TraceFile = Annotated[Path | None, typer.Option("--trace-file", help="The trace to replay.")]
ReplayStrict = Annotated[bool, typer.Option("--replay-strict", help="Offline only (always).")]
Strict = Annotated[bool, typer.Option("--strict", help="Exit 1 on warn/flaky/unstable rows.")]
Baseline = Annotated[Path | None, typer.Option("--baseline", help="Compare with a baseline.")]
Export = Annotated[Path | None, typer.Option("--export-baseline", help="Write a baseline.")]
Flag = Annotated[bool, typer.Option(help="Accepted for compatibility.")]
Incremental = Annotated[bool, typer.Option("--incremental", help="Refused: no eval database.")]
Reruns = Annotated[int, typer.Option("--rerun-failures", help="0 with a trace file, as Assay.")]
ExitCodes = Annotated[
    str, typer.Option("--exit-codes", envvar="ASSAY_EXIT_CODES", help="v2 (default) or v1.")
]
Judge = Annotated[str, typer.Option("--judge", envvar="VERDICT_JUDGE", help="none only.")]
NoJudge = Annotated[bool, typer.Option("--no-judge", help="Same as --judge none.")]
JudgeModel = Annotated[
    str | None, typer.Option("--judge-model", envvar="VERDICT_JUDGE_MODEL", help="Recorded.")
]
JudgeSamples = Annotated[
    int, typer.Option("--judge-samples", envvar="VERDICT_JUDGE_SAMPLES", help="Recorded.")
]
Temperature = Annotated[float, typer.Option("--judge-temperature", help="Accepted.")]
MaxTokens = Annotated[int, typer.Option("--judge-max-tokens", help="Accepted.")]
Embedder = Annotated[str, typer.Option("--embedder", help="none only (embeddings from meta).")]
EmbeddingModel = Annotated[str, typer.Option("--embedding-model", help="Accepted.")]
Quarantine = Annotated[str, typer.Option("--quarantine-mode", help="off | warn | strict.")]
AllowIneffective = Annotated[
    bool, typer.Option("--allow-ineffective-assertions", help="Run assertions that cannot fail.")
]
DenyDeprecations = Annotated[
    bool, typer.Option("--deny-deprecations", help="Unknown or deprecated keys are errors.")
]
Redact = Annotated[bool, typer.Option("--redact-prompts", help="Prompts out of the outputs.")]
NoVerify = Annotated[bool, typer.Option("--no-verify", help="Recorded as verify_mode.")]
Format = Annotated[str, typer.Option("--format", help="text | json (JSON on stdout).")]


@app.command("run")
def run_command(
    config: Config = Path("eval.yaml"),
    db: Db = ".eval/eval.db",
    trace_file: TraceFile = None,
    replay_strict: ReplayStrict = False,
    strict: Strict = False,
    baseline: Baseline = None,
    export_baseline: Export = None,
    incremental: Incremental = False,
    refresh_cache: Annotated[bool, typer.Option("--refresh-cache", help="Accepted.")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Accepted.")] = False,
    rerun_failures: Reruns = 0,
    exit_codes: ExitCodes = "v2",
    judge: Judge = "none",
    no_judge: NoJudge = False,
    judge_model: JudgeModel = None,
    judge_samples: JudgeSamples = 3,
    judge_refresh: Annotated[bool, typer.Option("--judge-refresh", help="Accepted.")] = False,
    judge_temperature: Temperature = 0.0,
    judge_max_tokens: MaxTokens = 800,
    embedder: Embedder = "none",
    embedding_model: EmbeddingModel = "text-embedding-3-small",
    refresh_embeddings: Annotated[bool, typer.Option("--refresh-embeddings")] = False,
    quarantine_mode: Quarantine = "warn",
    allow_ineffective_assertions: AllowIneffective = False,
    deny_deprecations: DenyDeprecations = False,
    redact_prompts: Redact = False,
    no_verify: NoVerify = False,
    explain_skip: Annotated[
        bool, typer.Option("--explain-skip", help="Nothing is skipped.")
    ] = False,
    output_format: Format = "text",
) -> None:
    """Grade every test of the config against the trace; write run.json and summary.json."""
    _execute("run", locals())


@app.command("ci")
def ci_command(
    config: Config = Path("eval.yaml"),
    db: Db = ".eval/eval.db",
    junit: Annotated[Path, typer.Option("--junit", help="JUnit XML path.")] = Path("junit.xml"),
    sarif: Annotated[Path, typer.Option("--sarif", help="SARIF path.")] = Path("sarif.json"),
    pr_comment: Annotated[
        Path | None, typer.Option("--pr-comment", help="Write a PR comment (Markdown).")
    ] = None,
    otel_jsonl: Annotated[
        Path | None, typer.Option("--otel-jsonl", help="Refused: no OTel export.")
    ] = None,
    trace_file: TraceFile = None,
    replay_strict: ReplayStrict = False,
    strict: Strict = False,
    baseline: Baseline = None,
    export_baseline: Export = None,
    incremental: Incremental = False,
    refresh_cache: Annotated[bool, typer.Option("--refresh-cache", help="Accepted.")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Accepted.")] = False,
    rerun_failures: Reruns = 2,
    exit_codes: ExitCodes = "v2",
    judge: Judge = "none",
    no_judge: NoJudge = False,
    judge_model: JudgeModel = None,
    judge_samples: JudgeSamples = 3,
    judge_refresh: Annotated[bool, typer.Option("--judge-refresh", help="Accepted.")] = False,
    judge_temperature: Temperature = 0.0,
    judge_max_tokens: MaxTokens = 800,
    embedder: Embedder = "none",
    embedding_model: EmbeddingModel = "text-embedding-3-small",
    refresh_embeddings: Annotated[bool, typer.Option("--refresh-embeddings")] = False,
    quarantine_mode: Quarantine = "warn",
    allow_ineffective_assertions: AllowIneffective = False,
    deny_deprecations: DenyDeprecations = False,
    redact_prompts: Redact = False,
    no_verify: NoVerify = False,
    explain_skip: Annotated[
        bool, typer.Option("--explain-skip", help="Nothing is skipped.")
    ] = False,
    output_format: Format = "text",
) -> None:
    """`run`, plus junit.xml, sarif.json and (with --pr-comment) a PR comment."""
    _execute("ci", locals())


def _execute(command: str, flags: dict[str, object]) -> None:
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from harness.assay.pipeline import AssayOptions, run_assay
    from harness.errors import UsageError

    judge = "none" if flags["no_judge"] else str(flags["judge"])
    if flags["no_judge"] and flags["judge"] != "none":
        raise UsageError("--no-judge conflicts with --judge; give one")
    names = set(AssayOptions.__dataclass_fields__) - {"command", "judge", "cwd"}
    given = {name: flags[name] for name in names if name in flags}
    given["allow_ineffective"] = flags["allow_ineffective_assertions"]
    options = AssayOptions(command=command, judge=judge, cwd=Path.cwd(), **given)  # type: ignore[arg-type]
    if options.output_format not in ("text", "json"):
        raise UsageError("--format takes text or json")
    report = run_assay(options)
    _print(command, options.output_format, report)
    raise typer.Exit(report.exit_code)


def _print(command: str, output_format: str, report: object) -> None:
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from harness.assay.pipeline import AssayReport

    assert isinstance(report, AssayReport)
    outcome = report.outcome
    for warning in outcome.warnings:
        print(f"WARN: {warning}", file=sys.stderr)
    if output_format == "json":
        document = (
            report.summary
            if command == "ci"
            else {
                "schema": "assay.run_report.v1",
                "summary": report.summary,
                "results": report.rows,
            }
        )
        print(json.dumps(document, indent=2))
        return
    for row in report.rows:
        if row["status"] != "pass":
            print(
                f"  {row['status'].upper():<5} {row['test_id']}: {row['message']}", file=sys.stderr
            )
    results = report.summary.get("results")
    if results is not None:
        print(
            f"Summary: {results['passed']} passed, {results['failed']} failed, "
            f"{results['warned']} warn, {results['skipped']} skipped",
            file=sys.stderr,
        )
    if outcome.reason_code:
        print(f"{outcome.reason_code}: {outcome.message}", file=sys.stderr)
        step = outcome.resolution().get("next_step")
        if step:
            print(f"next step: {step}", file=sys.stderr)
    if report.written:
        print(f"Outputs: {' '.join(str(path) for path in report.written)}", file=sys.stderr)
