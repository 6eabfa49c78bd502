"""`harness vally eval | grade | lint | compare | experiment run`: Vally's commands over Vally's
files, with Vally's flags, defaults and exit codes (docs/vally.md has every flag side by side).
Flags harness cannot honour (npm plugins, Docker, OTLP export) are refused with the reason.

Only typer is imported at module level: `harness --help` stays fast."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="vally",
    help="Run Vally eval specs unchanged: eval, grade, lint, compare, experiment.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
experiment_app = typer.Typer(
    name="experiment",
    help="Variants or a matrix of eval runs, compared.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(experiment_app, name="experiment")

EvalSpecs = Annotated[
    list[Path] | None,
    typer.Option("--eval-spec", "-e", help="Eval spec file (repeatable)."),
]
Tag = Annotated[
    list[str] | None,
    typer.Option("--tag", help="key=v1,v2: stimuli tagged so (repeatable: AND; values: OR)."),
]
Models = Annotated[
    list[str] | None, typer.Option("--model", help="Model, or a,b: one run per model.")
]
JudgeModel = Annotated[
    str | None, typer.Option("--judge-model", help="Model for prompt/panel/pairwise judges.")
]
JudgeCommand = Annotated[
    str | None,
    typer.Option("--judge-command", help="harness: the judge program (over harness.yaml's)."),
]
GraderPlugin = Annotated[
    list[str] | None,
    typer.Option("--grader-plugin", help="A Python module registering grader types."),
]
Verbose = Annotated[bool, typer.Option("--verbose", help="Every grader's evidence.")]
Output = Annotated[
    str | None, typer.Option("--output", help="jsonl: stream one record per trial to stdout.")
]
Workers = Annotated[int, typer.Option("--workers", help="Trials at once (default 5).")]


@app.command("eval")
def eval_command(
    eval_spec: EvalSpecs = None,
    suite: Annotated[str | None, typer.Option("--suite", help="A suite of .vally.yaml.")] = None,
    tag: Tag = None,
    skill_dir: Annotated[
        Path | None, typer.Option("--skill-dir", help="Skills for the whole run.")
    ] = None,
    work_dir: Annotated[
        Path | None, typer.Option("--work-dir", help="Each workspace starts as a copy of it.")
    ] = None,
    model: Models = None,
    timeout: Annotated[
        str | None, typer.Option("--timeout", help="Per trial, with a unit: 5m, 300s, 30000ms.")
    ] = None,
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="Pass score 0..1, over scoring's.")
    ] = None,
    judge_model: JudgeModel = None,
    judge_reasoning_effort: Annotated[
        str | None,
        typer.Option("--judge-reasoning-effort", envvar="EVAL_JUDGE_REASONING_EFFORT"),
    ] = None,
    grader_plugin: GraderPlugin = None,
    executor_plugin: Annotated[list[str] | None, typer.Option("--executor-plugin")] = None,
    eval_plugin: Annotated[str | None, typer.Option("--eval-plugin")] = None,
    output_dir: Annotated[
        Path, typer.Option("--output-dir", help="Runs go to <dir>/<timestamp>/.")
    ] = Path("vally-results"),
    output: Output = None,
    junit: Annotated[bool, typer.Option("--junit", help="Write eval-results.junit.xml.")] = False,
    workspace: Annotated[
        Path | None, typer.Option("--workspace", help="Keep each trial's workspace under DIR.")
    ] = None,
    runs: Annotated[int | None, typer.Option("--runs", help="Trials per stimulus.")] = None,
    max_retries: Annotated[
        int, typer.Option("--max-retries", help="Retries of infrastructure errors (default 2).")
    ] = 2,
    workers: Workers = 5,
    skip_grade: Annotated[
        bool, typer.Option("--skip-grade", help="Run without grading; `grade` later.")
    ] = False,
    skip_validate: Annotated[
        bool, typer.Option("--skip-validate", help="Lint findings warn instead of stopping.")
    ] = False,
    keep_executor_session_logs: Annotated[
        bool, typer.Option("--keep-executor-session-logs", help="Always kept by harness.")
    ] = False,
    verbose: Verbose = False,
    require_pass: Annotated[
        bool, typer.Option("--require-pass", help="Exit 1 when a stimulus did not pass.")
    ] = False,
    shutdown_timeout: Annotated[
        str, typer.Option("--shutdown-timeout", help="Time agents get to stop on Ctrl+C.")
    ] = "5s",
    backend: Annotated[str | None, typer.Option("--backend")] = None,
    otlp_endpoint: Annotated[str | None, typer.Option("--otlp-endpoint")] = None,
    agent_command: Annotated[
        str | None, typer.Option("--agent-command", help="harness: the agent, for every eval.")
    ] = None,
    mode: Annotated[
        str, typer.Option("--mode", help="harness: live | record | replay | auto (MCP tools).")
    ] = "live",
    cassette_dir: Annotated[
        Path | None, typer.Option("--cassette-dir", help="harness: default <eval dir>/cassettes.")
    ] = None,
    judge_command: JudgeCommand = None,
) -> None:
    """Run stimuli against agents and grade the results; exit 0, or 1 (a lost trial, or with
    --require-pass a stimulus that did not pass), 2 (bad input), 130 (interrupted)."""
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from harness.cli.vally_console import run_eval

    flags = dict(locals())
    raise typer.Exit(run_eval(flags))


@app.command("lint")
def lint_command(
    path: Annotated[
        Path | None, typer.Argument(help="Folder to scan (default: discovery).")
    ] = None,
    eval_spec: EvalSpecs = None,
    grader_plugin: GraderPlugin = None,
    strict: Annotated[bool, typer.Option("--strict", help="Warnings fail too.")] = False,
    verbose: Verbose = False,
) -> None:
    """Check eval specs without running anything; exit 1 on a problem."""
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from harness.cli.vally_console import run_lint

    raise typer.Exit(run_lint(path, list(eval_spec or []), list(grader_plugin or []), strict))


@app.command("grade")
def grade_command(
    eval_spec: Annotated[Path, typer.Option("--eval-spec", "-e", help="The eval spec.")],
    run: Annotated[
        Path | None, typer.Option("--run", help="A run folder (else records on stdin).")
    ] = None,
    stimulus: Annotated[str | None, typer.Option("--stimulus")] = None,
    workspace: Annotated[Path | None, typer.Option("--workspace")] = None,
    output: Output = None,
    judge_model: JudgeModel = None,
    judge_command: JudgeCommand = None,
    grader_plugin: GraderPlugin = None,
    threshold: Annotated[float | None, typer.Option("--threshold")] = None,
    verbose: Verbose = False,
) -> None:
    """Grade trial records (vally eval --output jsonl, or a run's results.jsonl) with the spec's
    graders; exit 0 when every trial passed, else 1."""
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from harness.cli.vally_results import run_grade

    raise typer.Exit(run_grade(dict(locals()), sys.stdin))


@app.command("compare")
def compare_command(
    run_a: Annotated[Path, typer.Option("--run-a", "--baseline", help="Run A (baseline).")],
    run_b: Annotated[Path, typer.Option("--run-b", "--treatment", help="Run B (treatment).")],
    eval_spec: EvalSpecs = None,
    judge_model: JudgeModel = None,
    judge_command: JudgeCommand = None,
    output: Annotated[
        Path | None, typer.Option("--output", help="Write the comparison report (JSONL) here.")
    ] = None,
) -> None:
    """Judge run B against run A trial by trial (matched by stimulus and trial index); print
    wins, losses and ties with an exact sign test; exit 1 when no pair could be judged."""
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from harness.cli.vally_results import run_compare

    raise typer.Exit(run_compare(dict(locals())))


@experiment_app.command("run")
def experiment_run_command(
    experiment_file: Annotated[Path, typer.Argument(help="The experiment YAML.")],
    variant: Annotated[str | None, typer.Option("--variant", help="Only this variant.")] = None,
    output_dir: Annotated[Path, typer.Option("--output-dir")] = Path("vally-experiment-results"),
    workers: Workers = 5,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan; run nothing.")
    ] = False,
    compare: Annotated[
        bool, typer.Option("--compare", help="Judge each variant against the baseline.")
    ] = False,
    require_pass: Annotated[
        bool, typer.Option("--require-pass", help="Exit 1 when a trial failed.")
    ] = False,
    workspace: Annotated[Path | None, typer.Option("--workspace")] = None,
    agent_command: Annotated[str | None, typer.Option("--agent-command")] = None,
    judge_command: JudgeCommand = None,
    judge_model: JudgeModel = None,
    max_retries: Annotated[int, typer.Option("--max-retries")] = 2,
) -> None:
    """Run every (eval x variant) through one shared worker pool; any difference outside `vary`
    is an error at plan time. Exit 0 when every trial passed, else 1."""
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from harness.cli.vally_results import run_experiment

    raise typer.Exit(run_experiment(dict(locals())))
