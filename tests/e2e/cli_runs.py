"""Moved to tests.support.cli_runs and tests.support.files; kept only for the e2e files that
still import it from here (test_gate*.py, test_python_api.py, test_ray_engine.py)."""

from tests.support.cli_runs import (
    REPO,
    SCRIPT_AGENT,
    SHELL_AGENT,
    SUITES,
    Harness,
    surviving_processes,
)
from tests.support.files import interaction, read_json, read_jsonl, write_suite

__all__ = [
    "REPO",
    "SCRIPT_AGENT",
    "SHELL_AGENT",
    "SUITES",
    "Harness",
    "interaction",
    "read_json",
    "read_jsonl",
    "surviving_processes",
    "write_suite",
]
