"""The `harness` typer app. Heavy modules are imported inside commands so --help stays fast."""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from harness.cli import gate_flags
from harness.cli import grade as grade_cli
from harness.cli.commands import RootGroup
from harness.errors import UsageError

# The other subcommands are imported and built when looked up (harness.cli.commands.LATER).
app = typer.Typer(
    name="harness",
    help="Test tool-using AI agents the way CI tests code.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    cls=RootGroup,
)


@app.callback()
def _root() -> None:
    """Test tool-using AI agents the way CI tests code."""


@app.command("run")
def run_command(
    suite: Annotated[Path, typer.Argument(help="Suite directory (or its suite.yaml).")],
    mode: Annotated[
        str | None,
        typer.Option("--mode", help="replay | record | auto | live (overrides the suite)."),
    ] = None,
    case: Annotated[
        list[str] | None,
        typer.Option("--case", help="Run only cases matching this id or glob (repeatable)."),
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option(
            "--tag", help="key=v1,v2: cases whose tag is one of the values (repeatable: AND)."
        ),
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option("--model", help="a,b: run every case on each model (overrides the suite)."),
    ] = None,
    runs: Annotated[
        int | None,
        typer.Option("--runs", help="Trials per case and model (default 1); 0 only validates."),
    ] = None,
    max_retries: Annotated[
        int | None,
        typer.Option("--max-retries", help="Retries of infrastructure failures (default 2)."),
    ] = None,
    fail_fast: Annotated[
        bool, typer.Option("--fail-fast", help="Stop at the first attempt that does not pass.")
    ] = False,
    shutdown_timeout: Annotated[
        float,
        typer.Option(
            "--shutdown-timeout",
            help="Seconds running agents get to stop after Ctrl+C or --fail-fast (default 5).",
        ),
    ] = 5.0,
    list_plan: Annotated[
        bool, typer.Option("--list", help="Print the planned attempt ids and exit.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="Stream agents' stderr and logs, by attempt id."),
    ] = False,
    workers: Annotated[
        int | None, typer.Option("--workers", "-j", help="Attempts at once (default 2 x cores).")
    ] = None,
    output_dir: Annotated[
        Path | None,
        typer.Option("--output-dir", help="Where run directories go (default harness_out)."),
    ] = None,
    agent_reuse: Annotated[
        str | None,
        typer.Option(
            "--agent-reuse",
            help="never | per_worker: keep an agent that says multi_task for the next case | "
            "fork: fork each agent from a server that imported `preload` once "
            "(default: the suite's agent_reuse, else per_worker).",
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="local (default) | ray: shards of attempts as Ray tasks (harness[ray]).",
        ),
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address", help="Ray cluster to join with --engine ray (default: start one)."
        ),
    ] = None,
    strict: Annotated[
        bool | None,
        typer.Option(
            "--strict/--no-strict", help="Replay-strict: unused or out-of-order entries fail."
        ),
    ] = None,
    baseline: gate_flags.BaselineFlag = None,
    export_baseline: gate_flags.ExportBaselineFlag = None,
    db: gate_flags.DbFlag = gate_flags.DEFAULT_DB,
    incremental: gate_flags.IncrementalFlag = False,
    no_cache: gate_flags.NoCacheFlag = False,
    rerun_failures: gate_flags.RerunFlag = 0,
    quarantine_flaky: gate_flags.QuarantineFlakyFlag = False,
    skip_grade: grade_cli.SkipGradeFlag = False,
    threshold: grade_cli.ThresholdFlag = None,
    workspace: grade_cli.WorkspaceFlag = None,
    judge_model: grade_cli.JudgeModelFlag = None,
    judge_samples: grade_cli.JudgeSamplesFlag = None,
    grader_plugin: grade_cli.GraderPluginFlag = None,
    allow_ineffective_assertions: grade_cli.AllowIneffectiveFlag = False,
    clean_env: Annotated[
        bool,
        typer.Option(
            "--clean-env",
            help="Agents get only PATH, HOME, locale, TMPDIR and TZ, not the whole "
            "environment (a suite's agent_env_allow list wins).",
        ),
    ] = False,
) -> None:
    """Run a suite and exit 0 (all passed), 1 (a case failed or regressed), 2 (bad input), 3,
    or 130."""
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from harness.cli.run import execute_run, options_from_flags

    if quiet and verbose:
        raise UsageError("--quiet and --verbose contradict each other; choose one")
    options = options_from_flags(locals())
    verbosity = "quiet" if quiet else "verbose" if verbose else "normal"
    raise typer.Exit(execute_run(options, verbosity=verbosity, list_only=list_plan))


@app.command("init")
def init_command(
    path: Annotated[
        Path, typer.Option("--path", help="Folder that holds suites (default ./evals).")
    ] = Path("evals"),
    suite: Annotated[str, typer.Option("--suite", help="Name of the new suite.")] = "demo",
    language: Annotated[
        str, typer.Option("--language", help="python | node: the agent's language.")
    ] = "python",
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
    template: Annotated[
        str,
        typer.Option(
            "--template",
            help="support: a rule-based agent | openai: an agent on the openai SDK whose "
            "model calls are recorded and replayed too.",
        ),
    ] = "support",
) -> None:
    """Scaffold a working suite (agent, live tools, cases, cassettes, baseline, CI workflow)."""
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from harness.cli.init import execute_init

    raise typer.Exit(execute_init(path, suite, language, force=force, template=template))


@app.command("version")
def version_command() -> None:
    """Print the harness version."""
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from harness._version import __version__

    print(f"harness {__version__}")


def main() -> None:
    # A reader that closes the pipe early (`harness run ... | head`) is not an error.
    try:
        app()
    except BrokenPipeError:
        _silence_stdout()
        sys.exit(os.EX_OK)
    finally:
        # The interpreter's last garbage collections walk every object still alive, some
        # 40-80 ms of a run's wall time spent only to free memory that exit frees anyway.
        # Frozen objects are skipped by them (and still freed by reference counting); every
        # file and process of the command is closed by now.
        gc.freeze()


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
