"""The regression gate through the CLI: baselines exported and promoted, a regression named in
every report, expected failures, metric gates, `diff`, quarantine, re-runs; real agents."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

from tests.support.cli_runs import SUITES, Harness, command
from tests.support.files import read_json
from tests.support.gate_suites import (
    failing_steps,
    junit_errors,
    make_suite,
    passing_steps,
    sarif_errors,
    set_case_steps,
)


def test_regression_fails_the_gate_and_is_named_in_every_report(
    harness: Harness, tmp_path: Path
) -> None:
    suite = make_suite(tmp_path / "suite")
    first = harness.run(suite, "--export-baseline", "base.json")
    assert first.exit_code == 0, first.describe()
    baseline = read_json(tmp_path / "base.json")
    assert baseline["suite"]["name"] == "gated"
    assert "regression" not in baseline

    set_case_steps(suite, "bravo", failing_steps("bravo"))
    reports = tmp_path / "reports"
    ci = command(
        harness, "ci", str(suite), "--output-dir", str(harness.out), "--baseline", "base.json",
        "--junit", str(reports / "junit.xml"), "--sarif", str(reports / "sarif.json"),
        "--markdown", str(reports / "pr.md"), "--html", str(reports / "report.html"),
    )  # fmt: skip

    assert ci.exit_code == 1, ci.describe()
    assert ci.stderr.strip().splitlines()[-1] == "harness ci: exit 1 E_TEST_FAILED"
    assert "FAIL bravo: regressed (baseline: pass, now: fail)" in ci.stdout
    summary = ci.summary()
    assert summary["regression"]["passed"] is False
    verdicts = {unit["case_id"]: unit["verdict"] for unit in summary["regression"]["cases"]}
    assert verdicts == {"alpha": "pass", "bravo": "regressed", "charlie": "pass"}
    assert summary["run"]["exit_status"] == "failed"
    assert ci.run_json()["reason_code"] == "regression"

    junit_path = reports / "junit.xml"
    assert junit_errors(junit_path) == []
    cases = {case.get("name"): case for case in ET.parse(junit_path).iter("testcase")}
    failure = cases["bravo"].find("failure")
    assert failure is not None
    assert failure.get("message", "").startswith("REGRESSION (passed in the baseline)")
    assert cases["bravo"].get("file", "").endswith("bravo.yaml")
    assert cases["alpha"].find("failure") is None

    sarif = json.loads((reports / "sarif.json").read_text(encoding="utf-8"))
    assert sarif_errors(sarif) == []
    (result,) = sarif["runs"][0]["results"]
    assert result["properties"]["case_id"] == "bravo"
    assert result["properties"]["verdict"] == "regressed"
    assert result["level"] == "error"
    assert result["ruleId"] == "assertion_failed/required_fields"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "suite/cases/bravo.yaml"
    assert location["region"]["startLine"] == 1

    markdown = (reports / "pr.md").read_text(encoding="utf-8")
    assert len(markdown) < 65_536
    regressions = markdown.index("#### Regressions")
    assert markdown.index("`bravo`", regressions) < markdown.index("<details>")
    assert "| `bravo` | regressed | pass | fail |" in markdown

    html = (reports / "report.html").read_text(encoding="utf-8")
    assert '"case_id":"bravo"' in html and '"verdict":"regressed"' in html

    # Every report rebuilt from the run directory alone equals the one the run wrote.
    (suite / "suite.yaml").unlink()
    rebuilt = tmp_path / "rebuilt"
    again = command(
        harness, "report", str(ci.dir), "--sarif", str(rebuilt / "sarif.json"),
        "--markdown", str(rebuilt / "pr.md"), "--junit", str(rebuilt / "junit.xml"),
        "--html", str(rebuilt / "report.html"),
    )  # fmt: skip
    assert again.exit_code == 0, again.describe()
    for name in ("sarif.json", "pr.md", "junit.xml", "report.html"):
        assert (rebuilt / name).read_bytes() == (reports / name).read_bytes(), name


def test_expected_failure_does_not_fail_the_gate(harness: Harness, tmp_path: Path) -> None:
    regression = {"expected_failures": ["charlie"], "min_pass_rate": 1.0}
    suite = make_suite(tmp_path / "suite", failing=("charlie",), regression=regression)
    first = harness.run(suite)
    assert first.exit_code == 0, first.describe()  # the only failure is expected

    refused = command(harness, "baseline", "promote", "--from", str(first.dir), "--to", "b.json")
    assert refused.exit_code == 2, refused.describe()
    assert "charlie" in refused.stderr and "--allow-failing" in refused.stderr
    assert not (tmp_path / "b.json").exists()
    promoted = command(
        harness, "baseline", "promote", "--from", str(first.dir), "--to", "b.json",
        "--allow-failing",
    )  # fmt: skip
    assert promoted.exit_code == 0, promoted.describe()

    gated = harness.run(suite, "--baseline", "b.json")
    assert gated.exit_code == 0, gated.describe()
    units = {unit["case_id"]: unit for unit in gated.summary()["regression"]["cases"]}
    assert units["charlie"]["verdict"] == "expected_failure"
    assert units["charlie"]["gating"] is False
    skipped = {case.get("name"): case.find("skipped") for case in gated.junit().iter("testcase")}
    assert skipped["charlie"] is not None
    assert skipped["charlie"].get("message", "").startswith("expected failure")

    # Without the mark the same known failure gates again.
    settings = yaml.safe_load((suite / "suite.yaml").read_text(encoding="utf-8"))
    settings["regression"]["expected_failures"] = []
    (suite / "suite.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    unmarked = harness.run(suite, "--baseline", "b.json")
    assert unmarked.exit_code == 1, unmarked.describe()
    assert "FAIL charlie: still_failing (baseline: fail, now: fail)" in unmarked.stdout


def test_diff_prints_case_changes_and_refuses_another_suite(
    harness: Harness, tmp_path: Path
) -> None:
    suite = make_suite(tmp_path / "suite")
    first = harness.run(suite, "--export-baseline", "base.json")
    assert first.exit_code == 0, first.describe()
    same = command(harness, "diff", "--baseline", "base.json", "--run", str(first.dir))
    assert same.exit_code == 0, same.describe()
    assert "no case changed status" in same.stdout

    set_case_steps(suite, "alpha", failing_steps("alpha"))
    second = harness.run(suite)
    assert second.exit_code == 1, second.describe()
    diff = command(harness, "diff", "--baseline", "base.json", "--run", str(second.dir))
    assert diff.exit_code == 1, diff.describe()
    assert "changed  alpha: pass -> fail" in diff.stdout
    assert "FAIL alpha: regressed" in diff.stdout

    other = make_suite(tmp_path / "other", name="other")
    third = harness.run(other, "--export-baseline", "other.json")
    assert third.exit_code == 0, third.describe()
    refused = command(harness, "diff", "--baseline", "other.json", "--run", str(second.dir))
    assert refused.exit_code == 2, refused.describe()
    (line,) = refused.stderr.strip().splitlines()
    assert re.fullmatch(
        r"error: other\.json: baseline of suite 'other', but the run is of suite 'gated'; .*",
        line,
    ), line
    # `run --baseline` refuses it too, before any agent starts.
    mixed = harness.run(suite, "--baseline", "other.json")
    assert mixed.exit_code == 2, mixed.describe()
    assert not list((harness.out / "gated").glob("*/summary.json"))[2:]


def test_bad_baseline_file_is_one_line_and_exit_2(harness: Harness, tmp_path: Path) -> None:
    suite = make_suite(tmp_path / "suite")
    (tmp_path / "bad.json").write_text('{"schema_version": 1, "suite": {"name": "gated"}}')
    run = harness.run(suite, "--baseline", "bad.json")
    assert run.exit_code == 2, run.describe()
    assert run.stderr.strip() == (
        "error: bad.json: cases: missing required key; is this a summary.json?"
    )


def test_deterministic_metric_gate(harness: Harness, tmp_path: Path) -> None:
    regression = {"metrics": {"tool_calls": {"max_increase": 0}}}
    suite = make_suite(tmp_path / "suite", regression=regression)
    assert harness.run(suite, "--export-baseline", "base.json").exit_code == 0
    # Still passes, but makes one more call than in the baseline.
    steps = [{"call": "lookup", "args": {"q": "alpha"}}, *passing_steps("alpha")]
    set_case_steps(suite, "alpha", steps)

    run = harness.run(suite, "--baseline", "base.json")

    assert run.exit_code == 1, run.describe()
    assert all(result["status"] == "pass" for result in run.results())
    units = {unit["case_id"]: unit for unit in run.summary()["regression"]["cases"]}
    assert units["alpha"]["verdict"] == "metric_regression"
    assert units["alpha"]["detail"] == "tool_calls 1 -> 2"
    assert run.run_json()["reason_code"] == "regression"


def test_flaky_case_is_quarantined_from_the_history(harness: Harness, tmp_path: Path) -> None:
    harness.env["GITHUB_SHA"] = "c0ffee" * 6 + "cafe"  # every run at one commit
    suite = make_suite(tmp_path / "suite")
    assert harness.run(suite, "--db", "h.db").exit_code == 0
    set_case_steps(suite, "bravo", failing_steps("bravo"))
    assert harness.run(suite, "--db", "h.db").exit_code == 1

    run = harness.run(suite, "--db", "h.db", "--quarantine-flaky")

    assert run.exit_code == 0, run.describe()
    gate = run.summary()["regression"]
    units = {unit["case_id"]: unit for unit in gate["cases"]}
    assert units["bravo"]["verdict"] == "quarantined"
    assert "bravo" in gate["flaky_quarantined"]
    history = command(harness, "history", "--db", "h.db")
    assert "FLAKY: passed and failed at commit c0ffeec0ffee" in history.stdout


def test_rerun_failures_marks_a_recovered_attempt_flaky(harness: Harness, tmp_path: Path) -> None:
    agent = tmp_path / "once.py"
    agent.write_text(
        "import json, os, sys, time\n"
        "task = json.loads(sys.stdin.readline())\n"
        "flag = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'tried')\n"
        "output = {'answer': 1} if os.path.exists(flag) else {}\n"
        "if not os.path.exists(flag): time.sleep(0.5)\n"
        "open(flag, 'w').close()\n"
        "print(json.dumps({'type': 'final_output', 'output': output}), flush=True)\n"
    )
    suite = tmp_path / "suite"
    (suite / "cases").mkdir(parents=True)
    settings = {
        "suite_name": "once", "agent_command": ["python3", str(agent)], "mode": "replay",
        "cases_path": "cases", "tool_registry": [],
        "assertions": [{"type": "required_fields", "fields": ["answer"]}],
    }  # fmt: skip
    (suite / "suite.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    (suite / "cases" / "only.yaml").write_text("id: only\ninput: {}\n", encoding="utf-8")

    # ci re-runs a failure twice by default, as Assay's ci does, and says so.
    run = command(harness, "ci", str(suite), "--output-dir", str(harness.out))

    assert run.exit_code == 0, run.describe()
    assert "re-running only (1 of 2, --rerun-failures 2): it failed with" in run.stderr
    (result,) = run.results()
    assert result["status"] == "pass"
    assert result["flaky"] is True
    assert result["reruns"] == 1
    # The first try's time, the one being measured; not the quick re-run's.
    assert result["wall_ms"] >= 500
    (unit,) = run.summary()["regression"]["cases"]
    assert unit["verdict"] == "flaky"


def test_reports_of_every_failure_kind_are_schema_valid(harness: Harness, tmp_path: Path) -> None:
    ci = command(
        harness, "ci", str(SUITES / "failures"), "--output-dir", str(harness.out),
        "--junit", "r/junit.xml", "--sarif", "r/sarif.json", "--rerun-failures", "0",
    )  # fmt: skip
    assert ci.exit_code == 1, ci.describe()
    assert junit_errors(tmp_path / "r" / "junit.xml") == []
    sarif = json.loads((tmp_path / "r" / "sarif.json").read_text(encoding="utf-8"))
    assert sarif_errors(sarif) == []
    results = sarif["runs"][0]["results"]
    failing = {row["id"] for row in ci.summary()["cases"] if row["status"] != "pass"}
    assert {result["properties"]["case_id"] for result in results} == failing
    for result in results:
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert uri.endswith(f"/cases/{result['properties']['case_id']}.yaml"), uri
    rules = {rule["id"] for rule in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert {"cassette_mismatch", "budget_exceeded", "protocol_error"} <= rules


def test_sweep_is_gated_per_model_with_the_paired_test(harness: Harness, tmp_path: Path) -> None:
    regression = {"min_pass_rate": 0.9, "significance": {"alpha": 0.05}}
    suite = make_suite(tmp_path / "suite", regression=regression)
    sweep = ("--model", "m1,m2", "--runs", "2")
    first = harness.run(suite, *sweep, "--export-baseline", "base.json")
    assert first.exit_code == 0, first.describe()
    rows = read_json(tmp_path / "base.json")["cases"]
    assert {(row["id"], row["model"], row["trial"]) for row in rows if row["id"] == "alpha"} == {
        ("alpha", "m1", 1), ("alpha", "m1", 2), ("alpha", "m2", 1), ("alpha", "m2", 2),
    }  # fmt: skip

    set_case_steps(suite, "bravo", failing_steps("bravo"))
    run = harness.run(suite, *sweep, "--baseline", "base.json")

    assert run.exit_code == 1, run.describe()
    gate = run.summary()["regression"]
    checks = {check["name"]: check["passed"] for check in gate["checks"]}
    assert checks["min_pass_rate[m1]"] is False and checks["min_pass_rate[m2]"] is False
    # 4 trials flipped to failing: p = 1/16, not significant at 0.05 (per case: 0.05 / 6).
    assert gate["paired_test"]["worse"] == 4 and gate["paired_test"]["significant"] is False
    units = {(unit["case_id"], unit["model"]): unit for unit in gate["cases"]}
    assert units[("bravo", "m1")]["verdict"] == "not_significant"
    assert units[("bravo", "m1")]["current"] == "0/2"
    assert units[("alpha", "m2")]["verdict"] == "pass"


def test_a_run_with_ungraded_attempts_is_not_gated(harness: Harness, tmp_path: Path) -> None:
    """--skip-grade with one attempt that errors: the error fails the run, and the ungraded
    cases are neither gated nor called regressions (they have no verdict yet)."""
    suite = make_suite(tmp_path / "suite")
    first = harness.run(suite, "--export-baseline", "base.json")
    assert first.exit_code == 0, first.describe()
    set_case_steps(suite, "bravo", [{"exit": 3}])
    run = harness.run(suite, "--skip-grade", "--baseline", "base.json")
    assert run.exit_code == 1, run.describe()
    statuses = {r["case_id"]: r["status"] for r in run.results()}
    assert statuses == {"alpha": "ungraded", "bravo": "error", "charlie": "ungraded"}
    assert "regression" not in run.summary()
    assert run.run_json()["reason_code"] == "cases_failed"
    assert "regressed" not in run.stdout


def test_the_console_says_what_the_gate_compared(harness: Harness, tmp_path: Path) -> None:
    suite = make_suite(tmp_path / "suite", failing=("charlie",))
    plain = harness.run(suite, "--runs", "2")
    assert plain.exit_code == 1, plain.describe()
    assert (
        "Gate (no baseline: every case must pass; --baseline FILE compares with one): FAILED"
        in plain.stdout
    )
    assert "FAIL charlie: failed (now: 0/2; no baseline): assertion_failed" in plain.stdout
    assert "Failures (2 attempts of 1 case)" in plain.stdout

    # A case the baseline does not know is noted when it passes, not passed over in silence.
    passing = make_suite(tmp_path / "passing")
    assert harness.run(passing, "--export-baseline", "base.json").exit_code == 0
    bravo = (passing / "cases" / "bravo.yaml").read_text(encoding="utf-8")
    (passing / "cases" / "delta.yaml").write_text(bravo.replace("id: bravo", "id: delta"))
    gated = harness.run(passing, "--baseline", "base.json")
    assert gated.exit_code == 0, gated.describe()
    assert (
        "note delta: new (now: pass; not in the baseline, promote a new one to gate it)"
        in gated.stdout
    )
    verdicts = {unit["case_id"]: unit["verdict"] for unit in gated.summary()["regression"]["cases"]}
    assert verdicts["delta"] == "new"


def test_latest_names_the_newest_run_everywhere(harness: Harness, tmp_path: Path) -> None:
    suite = make_suite(tmp_path / "suite")
    harness.cwd = tmp_path / "project"
    harness.cwd.mkdir()
    first = harness.run(suite, output_dir=False)
    second = harness.run(suite, output_dir=False)
    assert first.exit_code == second.exit_code == 0
    assert second.dir.parent.parent == harness.cwd / "harness_out"

    promoted = command(harness, "baseline", "promote", "--from", "latest", "--to", "base.json")
    assert promoted.exit_code == 0, promoted.describe()
    assert read_json(harness.cwd / "base.json")["run"]["run_id"] == second.dir.name
    diffed = command(harness, "diff", "--baseline", "base.json", "--run", "harness_out/latest")
    assert diffed.exit_code == 0, diffed.describe()
    reported = command(harness, "report", "latest", "--html", "page.html")
    assert reported.exit_code == 0, reported.describe()
    assert second.dir.name in (harness.cwd / "page.html").read_text(encoding="utf-8")
    graded = command(harness, "grade", "harness_out/gated/latest")
    assert graded.exit_code == 0, graded.describe()
    assert (second.dir / "grades").is_dir() and not (first.dir / "grades").exists()
