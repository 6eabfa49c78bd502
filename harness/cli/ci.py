"""`harness ci`: run a suite for CI, write the reports asked for, exit with Assay's codes.

Exit codes as Assay's: 0 success, 1 a test failed or regressed, 2 config or input error, 3
infrastructure; plus 130 when interrupted. The last line names Assay's reason code.
"""

from __future__ import annotations

import typer

from harness.cli import flags

# Exit code -> Assay's reason code (reason_code_version 1); where Assay has no code for what
# happened (a full disk, Ctrl+C), one in its style.
ASSAY_REASONS = {
    "all_passed": "",
    "cases_failed": "E_TEST_FAILED",  # a failing case or a regression
    "config": "E_CFG_PARSE",  # config, baseline or flag error: nothing ran
    "infrastructure_error": "E_INFRASTRUCTURE",
    "interrupted": "E_INTERRUPTED",
}
ASSAY_RERUNS = 2  # Assay's ci re-runs a failed test twice (`--rerun-failures`)


def ci_command(
    ctx: typer.Context,
    suite: flags.SuiteArg,
    junit: flags.Junit = None,
    sarif: flags.Sarif = None,
    markdown: flags.Markdown = None,
    html: flags.Html = None,
    mode: flags.Mode = None,
    case: flags.Case = None,
    tag: flags.Tag = None,
    model: flags.Model = None,
    runs: flags.Runs = None,
    max_retries: flags.MaxRetries = None,
    fail_fast: flags.FailFast = False,
    shutdown_timeout: flags.ShutdownTimeout = 5.0,
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
    rerun_failures: flags.RerunFailures = ASSAY_RERUNS,
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
    """Run, gate and write the reports asked for: exit 0 / 1 / 2 / 3 as Assay does (130 on
    Ctrl+C), the reason code last. Takes every flag of `run` but --list; re-runs a failed
    attempt twice by default, as Assay's ci does."""
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    import sys

    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from harness.api import reason_of_exit
    from harness.cli.commands import CLOSING_LINE
    from harness.cli.run import execute_run, options_from_flags, verbosity_of

    chosen = {"junit": junit, "sarif": sarif, "markdown": markdown, "html": html}
    reports = {kind: path for kind, path in chosen.items() if path is not None}
    verbosity = verbosity_of(quiet=quiet, verbose=verbose)
    options = options_from_flags(locals(), reports=reports)

    def closing_line(code: int) -> None:
        reason = reason_of_exit(code)
        for kind, path in reports.items():
            if path.exists():
                print(f"{kind}: {path}", file=sys.stderr)
        print(f"harness ci: exit {code} {ASSAY_REASONS[reason] or 'OK'}", file=sys.stderr)

    ctx.meta[CLOSING_LINE] = closing_line
    raise typer.Exit(execute_run(options, verbosity=verbosity))
