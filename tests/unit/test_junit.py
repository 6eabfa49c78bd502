"""Reports rendered from a RunData: JUnit structure, SARIF shape, Markdown escaping and size
limit, HTML embedding. (Schema validation of real runs is in tests/e2e/test_gate*.py.)"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from harness.kinds import Status
from harness.reports.html import embed_json, render_html
from harness.reports.junit import render_junit
from harness.reports.markdown import MAX_CHARS, code, code_block, escape, render_markdown
from harness.reports.run_data import RunData
from harness.reports.sarif import render_sarif
from harness.results import AttemptResult, Failure


def data(
    results: list[AttemptResult], units: list[dict[str, Any]] | None = None, **gate: Any
) -> RunData:
    run = {
        "run_id": "20240101-000000-abcdef", "suite": "s", "exit_code": 1,
        "started_at": "2024-01-01T00:00:00Z", "suite_file": "/src/suite.yaml",
        "case_sources": {r.case_id: ["/src/cases/" + r.case_id + ".yaml", 3] for r in results},
    }  # fmt: skip
    summary: dict[str, Any] = {"suite": {"name": "s"}}
    if units is not None:
        summary["regression"] = {"passed": False, "cases": units, "checks": [], **gate}
    return RunData(Path("/nonexistent"), run, summary, results)


def failing(case_id: str, message: str = "boom", status: Status = "fail") -> AttemptResult:
    failure = Failure(type="assertion_failed", message=message, details={"assertion": "must_call"})
    return AttemptResult(case_id=case_id, attempt_id=case_id, status=status, wall_ms=1500,
                         failures=[failure], stderr_tail="err\x00tail")  # fmt: skip


def unit(case_id: str, verdict: str, gating: bool = True) -> dict[str, Any]:
    return {"case_id": case_id, "model": None, "verdict": verdict, "gating": gating,
            "current": "fail", "baseline": "pass", "detail": "assertion_failed"}  # fmt: skip


def test_junit_kinds_counts_and_control_characters() -> None:
    results = [
        AttemptResult(case_id="ok", attempt_id="ok", status="pass", wall_ms=10),
        failing("reg"), failing("err", status="error"), failing("xf"),
    ]  # fmt: skip
    units = [unit("reg", "regressed"), unit("xf", "expected_failure", gating=False)]
    checks = [{"name": "min_pass_rate", "passed": False, "value": 0.25, "limit": 0.5}]
    root = ET.fromstring(render_junit(data(results, units, checks=checks)))
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
    root = ET.fromstring(render_junit(data(results)))
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
        failing("reg"), failing("err", status="error", message="multi\nline & <xml>\t\"q\""),
    ]  # fmt: skip
    units = [unit("reg", "regressed"), unit("err", "expected_failure", gating=False)]
    checks = [{"name": "min_pass_rate", "passed": False, "value": 0.25, "limit": 0.5}]
    xml = render_junit(data(results, units, checks=checks))
    tree = ET.fromstring(xml)
    ET.indent(tree)
    assert ET.tostring(tree, encoding="utf-8", xml_declaration=True) + b"\n" == xml
    assert [suite.get("name") for suite in tree] == ["s", "s [m1]", "s [m2]"]
    assert [len(suite.findall("testcase")) for suite in tree] == [4, 1, 2]  # gate: "" and last
    assert tree.get("tests") == "7" and tree.get("failures") == "3"


def test_sarif_one_result_per_failing_check_at_the_case_line(tmp_path: Path) -> None:
    two = failing("two")
    two.failures.append(Failure(type="budget_exceeded", message="Budget exceeded: max_tool_calls"))
    log = json.loads(
        render_sarif(
            data([failing("one"), two], [unit("one", "quarantined", False)]), root=Path("/src")
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


def test_markdown_escapes_agent_text() -> None:
    assert escape("a|b <img src=x> @team **x**") == (
        "a\\|b &lt;img src=x&gt; @\u200bteam \\*\\*x\\*\\*"
    )
    assert code("has ` tick") == "``has ` tick``"
    assert code("`edge") == "`` `edge ``"
    block = code_block("```\nfence")
    assert block.startswith("````text\n") and block.endswith("\n````")


def test_markdown_puts_regressions_first_and_stays_under_the_limit() -> None:
    results = [failing(f"case{i:04}", "x" * 5000) for i in range(500)]
    units = [unit(f"case{i:04}", "still_failing") for i in range(500)]
    units[400] = unit("case0400", "regressed")
    text = render_markdown(data(results, units))
    assert len(text) < MAX_CHARS
    assert text.index("#### Regressions") < text.index("case0400") < text.index("#### Other")
    assert re.search(r"_\d+ more failing attempt\(s\) not shown", text)
    assert text.count("<details>") == text.count("</details>")


def test_html_embeds_inert_json_and_allows_only_its_script() -> None:
    planted = "</script><script>alert(1)</script>\u2028&"
    assert "<" not in embed_json({"x": planted}) and "\u2028" not in embed_json({"x": planted})
    assert json.loads(embed_json({"x": planted})) == {"x": planted}
    result = failing("c", planted)
    page = render_html(data([result], [unit("c", "regressed")])).decode()
    assert planted not in page
    script = re.search(r"<script>(.*)</script>", page, re.S)
    assert script is not None
    digest = base64.b64encode(hashlib.sha256(script.group(1).encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in page
    assert "innerHTML" not in page
