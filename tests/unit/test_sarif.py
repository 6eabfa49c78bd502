"""SARIF (harness.reports.sarif): one result per failing check, at the case's line. (Schema
validation of real runs is in tests/e2e/test_gate*.py.)"""

from __future__ import annotations

import json
from pathlib import Path

from harness.reports.sarif import render_sarif
from harness.results import AttemptResult, Failure
from tests.support.reports import failed_result, gate_unit, run_data


def test_sarif_one_result_per_failing_check_at_the_case_line(tmp_path: Path) -> None:
    two = failed_result("two")
    two.failures.append(Failure(type="budget_exceeded", message="Budget exceeded: max_tool_calls"))
    log = json.loads(
        render_sarif(
            run_data([failed_result("one"), two], [gate_unit("one", "quarantined", False)]),
            root=Path("/src"),
        )
    )
    run = log["runs"][0]
    assert log["version"] == "2.1.0"
    assert [r["ruleId"] for r in run["results"]] == [
        "assertion_failed/must_call", "assertion_failed/must_call", "budget_exceeded",
    ]  # fmt: skip
    assert [r["level"] for r in run["results"]] == ["warning", "error", "error"]
    location = run["results"][1]["locations"][0]["physicalLocation"]
    assert location == {
        "artifactLocation": {"uri": "cases/two.yaml", "uriBaseId": "SRCROOT"},
        "region": {"startLine": 3},
    }
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == [
        "assertion_failed/must_call", "budget_exceeded",
    ]  # fmt: skip


def test_sarif_keeps_the_whole_observed_text_beside_the_message() -> None:
    observed = "Your meeting is booked for " * 40 + "Friday at 5pm."
    failure = Failure(
        type="assertion_failed",
        message="output does not match /Tuesday/",
        expected="/Tuesday/",
        observed=observed,
    )
    result = AttemptResult("one", "fail", 10, attempt_id="one", failures=[failure])
    log = json.loads(render_sarif(run_data([result]), root=Path("/src")))
    (entry,) = log["runs"][0]["results"]
    assert entry["message"]["text"] == "one: output does not match /Tuesday/"
    assert entry["properties"]["observed"] == observed
    assert entry["properties"]["expected"] == "/Tuesday/"
