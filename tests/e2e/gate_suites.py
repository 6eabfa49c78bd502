"""Moved to tests.support.gate_suites (and `command` to tests.support.cli_runs); kept only for
the e2e files that still import it from here (test_gate*.py). Import tests.support instead."""

from tests.support.cli_runs import command
from tests.support.gate_suites import (
    failing_steps,
    junit_errors,
    make_suite,
    passing_steps,
    sarif_errors,
    set_case_steps,
)

__all__ = [
    "command",
    "failing_steps",
    "junit_errors",
    "make_suite",
    "passing_steps",
    "sarif_errors",
    "set_case_steps",
]
