"""The `harness` typer app. Heavy modules are imported inside commands so --help stays fast."""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from harness.cli import flags
from harness.cli.commands import RootGroup

# The other subcommands are imported and built when looked up (harness.cli.commands.LATER).
app = typer.Typer(
    name="harness",
    help="Test tool-using AI agents the way CI tests code.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    cls=RootGroup,
    # -h everywhere: click hands a group's help option names down to every subcommand.
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(wanted: bool) -> None:
    if wanted:
        # lazy: only this command pays for these (`harness --help` and other commands stay fast)
        from harness._version import __version__

        print(f"harness {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the harness version and exit.",
            is_eager=True,
            callback=_print_version,
        ),
    ] = False,
) -> None:
    """Test tool-using AI agents the way CI tests code."""


@app.command("run")
def run_command(
    suite: flags.SuiteArg,
    mode: flags.Mode = None,
    case: flags.Case = None,
    tag: flags.Tag = None,
    model: flags.Model = None,
    runs: flags.Runs = None,
    max_retries: flags.MaxRetries = None,
    fail_fast: flags.FailFast = False,
    shutdown_timeout: flags.ShutdownTimeout = 5.0,
    list_plan: flags.ListPlan = False,
    quiet: flags.Quiet = False,
    verbose: flags.Verbose = False,
    workers: flags.Workers = None,
    output_dir: flags.OutputDir = None,
    agent_reuse: flags.AgentReuse = None,
    engine: flags.Engine = "local",
    ray_address: flags.RayAddress = None,
    strict: flags.Strict = None,
    baseline: flags.Baseline = None,
    export_baseline: flags.ExportBaseline = None,
    db: flags.Db = flags.DEFAULT_DB,
    incremental: flags.Incremental = False,
    no_cache: flags.NoCache = False,
    rerun_failures: flags.RerunFailures = 0,
    quarantine_flaky: flags.QuarantineFlaky = False,
    skip_grade: flags.SkipGrade = False,
    threshold: flags.Threshold = None,
    workspace: flags.Workspace = None,
    judge_model: flags.JudgeModel = None,
    judge_samples: flags.JudgeSamples = None,
    grader_plugin: flags.GraderPlugin = None,
    allow_ineffective_assertions: flags.AllowIneffective = False,
    clean_env: flags.CleanEnv = False,
) -> None:
    """Run a suite: exit 0 all passed, 1 a case failed or regressed, 2 bad input (nothing
    ran), 3 infrastructure, 130 interrupted."""
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from harness.cli.run import execute_run, options_from_flags, verbosity_of

    options = options_from_flags(locals())
    verbosity = verbosity_of(quiet=quiet, verbose=verbose)
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
