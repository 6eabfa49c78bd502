"""Suites for unit tests, written as a user would write them (from dicts or YAML text) and
loaded, or their load errors read."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from harness.config.schema import Suite
from harness.errors import ConfigError
from harness.plan.load import load_suite
from tests.support.files import write_suite


def suite_from(root: Path, cases: list[dict[str, Any]], **settings: Any) -> Suite:
    """A replay suite of `cases` (no tools) with `settings` over suite.yaml's, loaded."""
    suite = {"suite_name": "plan", "agent_command": ["python3", "agent.py"], **settings}
    return load_suite(write_suite(root, suite, cases))


# A suite whose cases test graders: case files add their `assertions`.
GRADED_SUITE = """\
suite_name: demo
agent_command: [python3, agent.py]
mode: replay
cases_path: cases
tool_registry: [search, pay]
"""


def graded_case(case: str, suite: str = GRADED_SUITE, files: dict[str, str] | None = None) -> Path:
    """Suite folder `s` (under the cwd) whose one case, t1, ends with the YAML `case`."""
    root = Path("s")
    (root / "cases").mkdir(parents=True)
    (root / "suite.yaml").write_text(suite)
    (root / "cases" / "t1.yaml").write_text("id: t1\ninput: hi\n" + textwrap.dedent(case))
    for name, text in (files or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def load_errors(root: Path | str = "s", **options: Any) -> list[str]:
    """The lines of the ConfigError that loading `root` raises (it must raise one)."""
    with pytest.raises(ConfigError) as caught:
        load_suite(root, **options)
    return str(caught.value).splitlines()
