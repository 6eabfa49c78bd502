"""junit.xml (harness.reports.junit): test kinds and counts, control characters, ungraded
attempts skipped, an indented element tree. (Schema validation of real runs is in
tests/e2e/test_gate*.py.)"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from harness.reports.junit import render_junit
from harness.results import AttemptResult
from tests.support.reports import failed_result, gate_unit, run_data


def test_junit_kinds_counts_and_control_characters() -> None:
    results = [
        AttemptResult(case_id="ok", attempt_id="ok", status="pass", wall_ms=10),
        failed_result("reg"), failed_result("err", status="error"), failed_result("xf"),
    ]  # fmt: skip
    units = [gate_unit("reg", "regressed"), gate_unit("xf", "expected_failure", gating=False)]
    checks = [{"name": "min_pass_rate", "passed": False, "value": 0.25, "limit": 0.5}]
    root = ET.fromstring(render_junit(run_data(results, units, checks=checks)))
    assert root.tag == "testsuites"
    (suite,) = root
    assert {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "5", "failures": "2", "errors": "1", "skipped": "1",
    }  # fmt: skip
    assert suite.get("timestamp") == "2024-01-01T00:00:00"
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert cases["reg"].find("failure").get("message", "").startswith("REGRESSION")  # type: ignore[union-attr]
    assert cases["err"].find("error") is not None
    assert cases["xf"].find("skipped").get("message") == "expected failure: boom"  # type: ignore[union-attr]
    assert cases["gate: min_pass_rate"].find("failure") is not None
    assert cases["reg"].findtext("system-err") == "err\ufffdtail"
    assert cases["reg"].get("file") == "/src/cases/reg.yaml" and cases["reg"].get("line") == "3"


def test_junit_marks_an_ungraded_attempt_skipped() -> None:
    results = [
        AttemptResult(case_id="later", attempt_id="later", status="ungraded", wall_ms=10),
        AttemptResult(case_id="ok", attempt_id="ok", status="pass", wall_ms=10),
    ]
    root = ET.fromstring(render_junit(run_data(results)))
    (suite,) = root
    assert (suite.get("tests"), suite.get("skipped"), suite.get("failures")) == ("2", "1", "0")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    skipped = cases["later"].find("skipped")
    assert skipped is not None and skipped.get("message", "").startswith("ungraded: ")
    assert "--skip-grade" in skipped.get("message", "") and cases["ok"].find("skipped") is None


def test_junit_is_laid_out_as_an_indented_element_tree() -> None:
    """Written one testcase at a time, it is still what `ET.indent` + `ET.tostring` of the
    whole tree give (the form it had when built whole): parse and write it again, same bytes."""
    results = [
        AttemptResult(case_id="ok", attempt_id="ok/m1/10", model="m1", trial=10, status="pass",
                      wall_ms=10, stderr_path="/x/stderr.log", flaky=True, reruns=1),
        AttemptResult(case_id="ok", attempt_id="ok/m2/2", model="m2", trial=2, status="pass",
                      wall_ms=7),
        AttemptResult(case_id="ok", attempt_id="ok", status="pass", wall_ms=1),
        failed_result("reg"),
        failed_result("err", status="error", message="multi\nline & <xml>\t\"q\""),
    ]  # fmt: skip
    units = [gate_unit("reg", "regressed"), gate_unit("err", "expected_failure", gating=False)]
    checks = [{"name": "min_pass_rate", "passed": False, "value": 0.25, "limit": 0.5}]
    xml = render_junit(run_data(results, units, checks=checks))
    tree = ET.fromstring(xml)
    ET.indent(tree)
    assert ET.tostring(tree, encoding="utf-8", xml_declaration=True) + b"\n" == xml
    assert [suite.get("name") for suite in tree] == ["s", "s [m1]", "s [m2]"]
    assert [len(suite.findall("testcase")) for suite in tree] == [4, 1, 2]  # gate: "" and last
    assert tree.get("tests") == "7" and tree.get("failures") == "3"
