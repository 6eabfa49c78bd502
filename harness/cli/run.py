"""`harness run`: run a suite with a console front end and map errors to exit codes."""

from __future__ import annotations

import sys

import anyio

from harness.api import RunOptions, prepare_run, run_suite
from harness.cli.console import print_report
from harness.cli.gate_flags import print_gate
from harness.cli.progress import NORMAL, ProgressEvents
from harness.errors import EXIT_INTERRUPTED, EXIT_OK, HarnessError


def execute_run(options: RunOptions, *, verbosity: str = NORMAL, list_only: bool = False) -> int:
    events = ProgressEvents(verbosity)
    try:
        if list_only or options.runs == 0:
            return _plan_only(options, events, list_only=list_only)
        report = anyio.run(lambda: run_suite(options, events, handle_signals=True))
    except HarnessError as exc:
        events.close()
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        events.close()
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    events.close()
    if report.status == "validated":  # the suite says `runs: 0`
        print(f"{options.suite}: validated, nothing run (runs: 0)", file=sys.stderr)
    if report.overview:  # summary.json less its rows: reading those back is not needed here
        print_gate(report.overview)
    print_report(report)
    for line in (report.message or "").splitlines():
        print(f"error: {line}", file=sys.stderr)
    return report.exit_code


def _plan_only(options: RunOptions, events: ProgressEvents, *, list_only: bool) -> int:
    """`--list` prints the plan, one attempt id per line; `--runs 0` only validates."""
    prepared = prepare_run(options, events)
    plan = prepared.plan
    if list_only:
        for attempt in plan.attempts:
            print(attempt.attempt_id)
    models = [model for model in plan.models if model is not None]
    shape = f"{len(prepared.suite.cases)} case(s)"
    if models:
        shape += f" x {len(models)} model(s) ({', '.join(models)})"
    shape += f" x {plan.runs} trial(s) = {len(plan)} attempt(s)"
    verb = "planned" if list_only else "validated, nothing run (--runs 0)"
    print(f"{prepared.suite.name}: {shape}; {verb}", file=sys.stderr)
    return EXIT_OK
