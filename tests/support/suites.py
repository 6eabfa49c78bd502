"""Suites for unit tests: written from dicts as a user would write them, then loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.config.schema import Suite
from harness.plan.load import load_suite
from tests.support.files import write_suite


def suite_from(root: Path, cases: list[dict[str, Any]], **settings: Any) -> Suite:
    """A replay suite of `cases` (no tools) with `settings` over suite.yaml's, loaded."""
    suite = {"suite_name": "plan", "agent_command": ["python3", "agent.py"], **settings}
    return load_suite(write_suite(root, suite, cases))
