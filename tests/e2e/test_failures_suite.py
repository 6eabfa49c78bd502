"""The failures suites: every case fails on purpose, and must fail exactly the way its tags say.

Each suite runs once per module; the tests read its artifacts from different angles.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.cli_runs import SUITES, Harness, Run, surviving_processes
from tests.support.files import write_suite

# Failure kinds that mean "the attempt could not be judged" (status error); the rest are fail.
ERROR_KINDS = {"protocol_error", "agent_exited", "spawn_error", "task_error", "cassette_error"}


def case_tags(suite: Path) -> dict[str, dict[str, str]]:
    """Case id -> tags, read from the suite's own case files."""
    tags = {}
    for path in sorted((suite / "cases").glob("*.yaml")):
        case = yaml.safe_load(path.read_text(encoding="utf-8"))
        tags[case["id"]] = case.get("tags", {})
    return tags


@pytest.fixture(scope="module")
def module_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    harness = Harness(tmp_path_factory.mktemp("failures"))
    yield harness
    surviving_processes(harness.marker, settle_seconds=0)


@pytest.fixture(scope="module")
def failures_run(module_harness: Harness) -> Run:
    return module_harness.run(SUITES / "failures")


@pytest.fixture(scope="module")
def strict_run(module_harness: Harness) -> Run:
    return module_harness.run(SUITES / "failures_strict")


def check_tagged_failures(run: Run, suite: Path) -> None:
    """Every case ran once and its first failure matches its tags; untagged cases pass."""
    tags = case_tags(suite)
    results = run.results_by_case()
    assert len(run.results()) == len(tags)
    assert set(results) == set(tags)
    mismatches = []
    for case_id, case in tags.items():
        result = results[case_id]
        failures: list[dict[str, Any]] = result.get("failures", [])
        expect = case.get("expect")
        if expect is None:
            if result["status"] != "pass":
                mismatches.append(f"{case_id}: expected pass, got {result}")
            continue
        got = failures[0] if failures else {}
        details = got.get("details") or {}
        status = "error" if expect in ERROR_KINDS else "fail"
        if (
            got.get("type") != expect
            or result["status"] != status
            or details.get("field") != case.get("budget", details.get("field"))
            or details.get("assertion") != case.get("assertion", details.get("assertion"))
        ):
            mismatches.append(f"{case_id}: expected {case} with status {status}, got {result}")
    assert not mismatches, "\n".join(mismatches)


def test_failures_suite_exits_1(failures_run: Run) -> None:
    assert failures_run.exit_code == 1, failures_run.describe()


def test_every_case_fails_as_its_tags_say(failures_run: Run) -> None:
    check_tagged_failures(failures_run, SUITES / "failures")


def test_strict_suite_reports_unused_and_out_of_order(strict_run: Run) -> None:
    assert strict_run.exit_code == 1, strict_run.describe()
    check_tagged_failures(strict_run, SUITES / "failures_strict")


def test_agent_that_cannot_start_is_a_spawn_error(module_harness: Harness) -> None:
    run = module_harness.run(SUITES / "failures_spawn")

    # The trial is lost, not failed (harness.kinds): infrastructure, exit 3.
    assert run.exit_code == 3, run.describe()
    assert run.run_json()["reason_code"] == "trials_lost"
    check_tagged_failures(run, SUITES / "failures_spawn")
    (failure,) = run.results()[0]["failures"]
    assert "not_a_program" in failure["message"]


def test_agent_command_not_on_path_is_a_config_error(harness: Harness, tmp_path: Path) -> None:
    # The executable is resolved once per run, before any case starts: a command that is not
    # found is a config error (exit 2, one line naming suite.yaml), and no run directory.
    suite = write_suite(
        tmp_path / "not_found",
        {"suite_name": "not_found", "agent_command": ["harness-e2e-no-such-agent", "--flag"]},
        [{"id": "cannot_start", "input": {}}],
    )

    run = harness.run(suite)

    assert run.exit_code == 2, run.describe()
    assert run.run_dir is None
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.describe()
    assert "suite.yaml" in lines[0]
    assert "agent_command" in lines[0]
    assert "harness-e2e-no-such-agent" in lines[0]
    assert "Traceback" not in run.stderr


def test_summary_counts_fail_and_error(failures_run: Run) -> None:
    tags = case_tags(SUITES / "failures")
    errors = sum(1 for case in tags.values() if case["expect"] in ERROR_KINDS)
    aggregates = failures_run.summary()["aggregates"]

    assert aggregates["cases_total"] == len(tags)
    assert aggregates["cases_pass"] == 0
    assert aggregates["cases_error"] == errors
    assert aggregates["cases_fail"] == len(tags) - errors
    assert aggregates["pass_rate"] == 0
    for row in failures_run.summary()["cases"]:
        assert row["status"] == ("error" if tags[row["id"]]["expect"] in ERROR_KINDS else "fail")
        assert row["failure_reason"], row
    rows = {row["id"]: row for row in failures_run.summary()["cases"]}
    assert rows["assertion_required_fields"]["failed_assertions"]


def test_run_json_records_the_failed_run(failures_run: Run) -> None:
    run_info = failures_run.run_json()
    assert run_info["exit_code"] == 1
    assert run_info["status"] != "passed"


def test_budgets_are_enforced_live(failures_run: Run) -> None:
    results = failures_run.results_by_case()
    # The agents sleep 30 s; the budget (0.5 s wall, 0.3 s idle) must stop them long before.
    assert results["budget_max_wall_ms"]["wall_ms"] < 5000
    assert results["budget_max_idle_ms"]["wall_ms"] < 5000
    wall = results["budget_max_wall_ms"]["failures"][0]["details"]
    assert wall["limit"] == 500
    assert wall["actual"] >= 500

    calls = results["budget_max_tool_calls"]["failures"][0]["details"]
    assert (calls["limit"], calls["actual"]) == (2, 3)
    # The third call is refused, not answered: only two tool results reached the agent.
    answered = failures_run.events_of("budget_max_tool_calls", "tool_result")
    assert len(answered) == 2

    errors = results["budget_max_tool_errors"]["failures"][0]["details"]
    assert (errors["limit"], errors["actual"]) == (1, 2)
    tokens = results["budget_max_tokens_out"]["failures"][0]["details"]
    assert (tokens["limit"], tokens["actual"]) == (1000, 5000)
    cost = results["budget_max_cost_usd"]["failures"][0]["details"]
    assert (cost["limit"], cost["actual"]) == (0.1, 0.5)


def test_agent_exit_reports_status_and_stderr(failures_run: Run) -> None:
    result = failures_run.results_by_case()["agent_exited"]

    assert result["exit_code"] == 3
    message = result["failures"][0]["message"]
    assert "3" in message
    assert "stderr marker 7f3a" in message
    log = failures_run.stderr_log("agent_exited")
    assert "fatal: model endpoint unreachable (stderr marker 7f3a)" in log.read_text()


def test_grandchild_holding_stdout_is_killed(failures_run: Run, module_harness: Harness) -> None:
    # The grandchild sleeps 60 s with the agent's stdout open: the runner must notice that the
    # agent itself exited, not wait for EOF, and take the whole process group down.
    result = failures_run.results_by_case()["agent_exited_grandchild"]
    assert result["wall_ms"] < 5000
    assert surviving_processes(module_harness.marker) == []


def test_protocol_errors_name_the_line(failures_run: Run) -> None:
    results = failures_run.results_by_case()
    non_json = results["protocol_non_json"]["failures"][0]["message"]
    assert "Thinking about the ticket" in non_json
    unknown = results["protocol_unknown_type"]["failures"][0]["message"]
    assert "progress" in unknown
    too_long = results["protocol_line_too_long"]
    assert too_long["wall_ms"] < 10000


def test_replay_failures_explain_themselves(failures_run: Run) -> None:
    results = failures_run.results_by_case()
    miss = results["cassette_mismatch"]["failures"][0]["message"]
    assert "lookup" in miss
    assert "7" in miss  # the requested id
    assert "nearest" in miss.lower() or "closest" in miss.lower(), miss
    refused = results["tool_not_allowed"]["failures"][0]["message"]
    assert "delete_account" in refused
    truncated = results["cassette_unreadable"]["failures"][0]["message"]
    assert "truncated.jsonl" in truncated


def test_junit_separates_errors_from_failures(failures_run: Run) -> None:
    tags = case_tags(SUITES / "failures")
    testcases = {case.get("name", ""): case for case in failures_run.junit().iter("testcase")}

    assert set(testcases) == set(tags)
    for case_id, element in testcases.items():
        if tags[case_id]["expect"] in ERROR_KINDS:
            assert element.find("error") is not None, case_id
            assert element.find("failure") is None, case_id
        else:
            assert element.find("failure") is not None, case_id
            assert element.find("error") is None, case_id


def test_trace_has_the_events_of_each_case(failures_run: Run) -> None:
    tags = case_tags(SUITES / "failures")
    for case_id in tags:
        kinds = [event["type"] for event in failures_run.events_of(case_id)]
        assert kinds.count("case_end") == 1, (case_id, kinds)
    assert failures_run.events_of("task_error", "task_error")
    assert failures_run.events_of("budget_max_idle_ms", "log")
    assert len(failures_run.events_of("assertion_call_order", "tool_call")) == 2
    assert failures_run.events_of("assertion_call_order", "final_output")
