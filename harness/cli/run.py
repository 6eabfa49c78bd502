"""`harness run`: run a suite with a console front end and map errors to exit codes."""

from __future__ import annotations

import sys

import anyio

from harness.errors import EXIT_INTERRUPTED, HarnessError
from harness.reports.console import ConsoleEvents, print_report
from harness.run import RunOptions, run_suite


def execute_run(options: RunOptions) -> int:
    events = ConsoleEvents()
    try:
        report = anyio.run(lambda: run_suite(options, events, handle_signals=True))
    except HarnessError as exc:
        events.clear_line()
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        events.clear_line()
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    events.clear_line()
    print_report(report)
    return report.exit_code
