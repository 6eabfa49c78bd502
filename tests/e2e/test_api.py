"""The same runs through the Python API: `run_sync`, `run_suite` and `load_suite`.

Real agents are spawned; nothing of the runner is replaced.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import harness
from harness.errors import ConfigError, UsageError
from tests.support.cli_runs import SCRIPT_AGENT, SHELL_AGENT, SUITES, surviving_processes
from tests.support.files import interaction, write_suite


@pytest.fixture(autouse=True)
def venv_first_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = os.path.dirname(sys.executable)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")


@pytest.fixture
def marker(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    value = f"api-{uuid.uuid4().hex}"
    monkeypatch.setenv("SCRIPT_AGENT_MARKER", value)
    yield value
    assert surviving_processes(value, settle_seconds=1) == []


def test_run_demo_through_the_api(tmp_path: Path) -> None:
    report = harness.run_sync(harness.RunOptions(suite=SUITES / "demo", output_dir=tmp_path))

    assert report.exit_code == 0
    assert report.status == "finished"
    assert sorted(r.status for r in report.results) == ["pass"] * 6
    assert report.run_dir is not None and report.run_dir.parent.parent == tmp_path
    summary = json.loads((report.run_dir / "summary.json").read_text())
    assert summary["aggregates"]["cases_pass"] == 6
    assert summary["aggregates"]["pass_rate"] == 1.0


def test_load_suite_resolves_paths_and_merges() -> None:
    suite = harness.load_suite(SUITES / "demo")
    assert suite.name == "demo"
    assert len(suite.cases) == 6
    for case in suite.cases:
        assert case.cassette_path is not None and case.cassette_path.is_absolute()


def test_config_error_before_anything_runs(tmp_path: Path) -> None:
    suite = write_suite(
        tmp_path / "bad",
        {"suite_name": "bad", "agent_command": ["sh"], "budgets": {"max_wall_ms": "ten"}},
        [{"id": "a", "input": {}}],
    )
    with pytest.raises(ConfigError) as caught:
        harness.run_sync(harness.RunOptions(suite=suite, output_dir=tmp_path / "out"))
    assert "suite.yaml:" in str(caught.value) and "budgets.max_wall_ms" in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_unknown_case_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown case id"):
        harness.run_sync(harness.RunOptions(suite=SUITES / "demo", case_ids=("nope",)))


async def test_run_suite_inside_an_event_loop(tmp_path: Path, marker: str) -> None:
    steps = [
        {"call": "lookup", "args": {"id": 1}},
        {"final_from_results": True},
    ]
    slow = [{"sleep": 30}, {"final": {"never": True}}]
    suite = write_suite(
        tmp_path / "api",
        {
            "suite_name": "api",
            "agent_command": ["python3", str(SCRIPT_AGENT)],
            "tool_registry": ["lookup"],
        },
        [
            {"id": "ok", "input": {"steps": steps}, "cassette": "cassettes/ok.jsonl"},
            {"id": "slow", "input": {"steps": slow}, "budgets": {"max_wall_ms": 400}},
        ],
        {"cassettes/ok.jsonl": [interaction("lookup", {"id": 1}, {"name": "Ada"})]},
    )
    report = await harness.run_suite(harness.RunOptions(suite=suite, output_dir=tmp_path / "o"))

    by_case = {r.case_id: r for r in report.results}
    assert by_case["ok"].status == "pass"
    assert by_case["slow"].status == "fail"
    budget = by_case["slow"].failures[0]
    assert budget.type == "budget_exceeded"
    assert budget.details is not None and budget.details["field"] == "max_wall_ms"
    assert by_case["slow"].wall_ms < 5000
    assert report.exit_code == 1


def test_shell_agent_through_the_api(tmp_path: Path) -> None:
    suite = write_suite(
        tmp_path / "sh",
        {
            "suite_name": "sh",
            "agent_command": ["sh", str(SHELL_AGENT)],
            "tool_registry": ["get_weather"],
        },
        [{"id": "paris", "input": {"city": "Paris"}, "cassette": "c.jsonl"}],
        {"c.jsonl": [interaction("get_weather", {"city": "Paris"}, {"temp_c": 21})]},
    )
    report = harness.run_sync(harness.RunOptions(suite=suite, output_dir=tmp_path / "o"))
    assert [r.status for r in report.results] == ["pass"], report.results
