"""`harness run`: run a suite with the console front end; returns the run's exit code."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio

from harness.api import Prepared, RunOptions, run_suite, validate_run
from harness.cli.console import echo, print_report
from harness.cli.gate_flags import print_gate
from harness.cli.progress import NORMAL, QUIET, VERBOSE, ProgressEvents
from harness.errors import EXIT_OK, UsageError


def options_from_flags(
    flags: Mapping[str, Any], *, reports: Mapping[str, Path] | None = None
) -> RunOptions:
    """RunOptions from a command's parameters, by flag name (`harness run` and `harness ci`
    declare them with harness.cli.flags; a flag a command lacks takes RunOptions' default)."""
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from harness.cli import gate_flags
    from harness.cli import grade as grade_cli
    from harness.cli.flags import DEFAULT_DB

    def flag(name: str, default: Any = None) -> Any:
        return flags.get(name, default)

    defaults = RunOptions(suite=flags["suite"])
    return RunOptions(
        suite=flags["suite"],
        mode=flag("mode"),
        case_ids=tuple(flag("case") or ()),
        workers=flag("workers"),
        output_dir=flag("output_dir"),
        strict=flag("strict"),
        tags=tuple(flag("tag") or ()),
        models=tuple(flag("model") or ()),
        runs=flag("runs"),
        max_retries=flag("max_retries"),
        fail_fast=flag("fail_fast", False),
        shutdown_timeout_seconds=flag("shutdown_timeout", defaults.shutdown_timeout_seconds),
        agent_reuse=flag("agent_reuse"),
        engine=flag("engine", defaults.engine),
        ray_address=flag("ray_address"),
        clean_env=flag("clean_env", False),
        gate=gate_flags.gate_options(
            baseline=flag("baseline"),
            export_baseline=flag("export_baseline"),
            db=flag("db", DEFAULT_DB),
            incremental=flag("incremental", False),
            no_cache=flag("no_cache", False),
            rerun_failures=flag("rerun_failures", 0),
            quarantine_flaky=flag("quarantine_flaky", False),
            reports=dict(reports or {}),
        ),
        grade=grade_cli.grade_options(
            skip=flag("skip_grade", False),
            threshold=flag("threshold"),
            judge_model=flag("judge_model"),
            judge_samples=flag("judge_samples"),
        ),
        workspace_dir=flag("workspace"),
        grader_plugins=tuple(flag("grader_plugin") or ()),
        allow_ineffective=flag("allow_ineffective_assertions", False),
    )


def verbosity_of(*, quiet: bool, verbose: bool) -> str:
    if quiet and verbose:
        raise UsageError("--quiet and --verbose contradict each other; choose one")
    return QUIET if quiet else VERBOSE if verbose else NORMAL


def execute_run(options: RunOptions, *, verbosity: str = NORMAL, list_only: bool = False) -> int:
    events = ProgressEvents(verbosity)
    try:
        if list_only or options.runs == 0:
            return _plan_only(options, events, list_only=list_only)
        report = anyio.run(lambda: run_suite(options, events, handle_signals=True))
    finally:
        events.close()  # the live display ends before any error line is printed
    if report.status == "validated":  # the suite says `runs: 0`
        print(f"{options.suite}: validated, nothing run (runs: 0)", file=sys.stderr)
    quiet = verbosity == QUIET  # the counts and the run directory only: the rest is in files
    if report.overview and not quiet:  # summary.json less its rows: not read back here
        print_gate(report.overview)
    print_report(report, tables=not quiet)
    for line in (report.message or "").splitlines():
        echo(f"error: {line}", err=True)
    return report.exit_code


def _plan_only(options: RunOptions, events: ProgressEvents, *, list_only: bool) -> int:
    """`--list` prints the plan, one attempt id per line; `--runs 0` only validates."""
    prepared = validate_run(options, events)
    if list_only:
        for attempt in prepared.plan.attempts:
            echo(attempt.attempt_id)
    verb = "planned" if list_only else "validated, nothing run (--runs 0)"
    print(f"{prepared.suite.name}: {plan_shape(prepared)}; {verb}", file=sys.stderr)
    return EXIT_OK


def plan_shape(prepared: Prepared) -> str:
    """`3 case(s) x 2 model(s) (a, b) x 5 trial(s) = 30 attempt(s)`."""
    plan = prepared.plan
    models = [model for model in plan.models if model is not None]
    shape = f"{len(prepared.suite.cases)} case(s)"
    if models:
        shape += f" x {len(models)} model(s) ({', '.join(models)})"
    return shape + f" x {plan.runs} trial(s) = {len(plan)} attempt(s)"
