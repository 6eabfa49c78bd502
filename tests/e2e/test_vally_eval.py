"""`harness vally eval` over the fixture corpus with real agents (a Python agent and a POSIX sh
agent that edit their workspace; an MCP stdio server, mcp-server-time, behind the tool gateway),
asserting on the files Vally's users read: results.jsonl, eval-results.md, the JUnit XML, the
session-log layout, summary.json and the `latest` pointer."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from tests.support.cli_runs import Harness
from tests.support.files import read_json, read_jsonl
from tests.support.vally_runs import (
    by_stimulus,
    graders,
    latest,
    records,
    session_log,
    summary_rows,
    vally,
)

CORPUS = ["static", "metrics", "code", "judges", "environments"]


def test_every_static_code_metric_judge_and_environment_grader(
    harness: Harness, tmp_path: Path
) -> None:
    out = tmp_path / "results"
    specs = [arg for name in CORPUS for arg in ("-e", f"evals/{name}/eval.yaml")]
    run = vally(harness, "eval", *specs, "--output-dir", str(out), "--junit")

    assert run.exit_code == 0, run.describe()  # metrics/over fails: exit 0 without --require-pass
    assert "1 stimulus(es) did not pass; exit 0 as Vally's eval" in run.stdout
    root = latest(out)
    found = by_stimulus(root)
    assert set(found) == {
        "static/outputs", "static/files", "static/weighted", "metrics/within", "metrics/over",
        "code/commands", "judges/explain", "environments/named-and-merged",
    }  # fmt: skip
    for key, record in found.items():
        assert record["type"] == "trial-result"
        assert record["status"] == "success", key
        assert record["trialIndex"] == 0
        assert record["harness"]["counted"] is True
        expected = key != "metrics/over"
        assert record["gradeResult"]["passed"] is expected, (key, record["gradeResult"])
        log = session_log(root, record)
        metadata = read_json(log / "metadata.json")
        assert (metadata["evalName"], metadata["stimulusName"]) == tuple(key.split("/"))
        assert metadata["evalFilePath"] == record["evalFilePath"]
        events = read_jsonl(log / "events.jsonl")
        assert events == record["trajectory"]["events"]
        assert {"turn_start", "turn_end"} <= {event["type"] for event in events}

    outputs = graders(found["static/outputs"])
    assert outputs["output-contains"] == (True, "'hello world' found in output")
    assert outputs["transcript-contains"] == (True, "'thinking about it' found in transcript")
    assert outputs["completed"] == (True, "Agent session completed successfully")
    files = graders(found["static/files"])
    assert files["file-exists"] == (True, "Files matching 'out/*.txt' found: out/result.txt")
    assert files["file-contains"] == (True, "'answer 42' found in out/result.txt")
    assert files["file-not-contains"][0] is True
    assert files["diff-contains"][1].startswith("'+answer 42' found in diff")
    assert files["diff-empty"] == (True, "Workspace unchanged")

    weighted = found["static/weighted"]["gradeResult"]
    assert (weighted["score"], weighted["threshold"]) == (0.8, 0.7)
    assert graders(found["static/weighted"])["output-contains"][0] is False

    over = found["metrics/over"]
    assert over["gradeResult"]["score"] == 0.5
    assert graders(over)["token-budget"] == (False, "1500 tokens exceeds max of 1000")
    within = graders(found["metrics/within"])
    assert within["error-count"] == (True, "1 errors (within budget of 1)")
    assert found["metrics/within"]["trajectory"]["metrics"]["tokenUsage"]["totalTokens"] == 1500

    code = graders(found["code/commands"])
    assert code["shell-form"][1].startswith("Command 'python3 app.py' exited with code 0")
    assert code["program"] == (True, "app.py present; stimulus commands; output given")

    judged = graders(found["judges/explain"])
    assert judged["prompt"][1].startswith("Judge (judge-default) scored 1.00")
    assert "1 judge(s) failed and were left out: broken" in judged["panel"][1]
    assert "pairwise" not in judged  # compare only

    markdown = (root / "eval-results.md").read_text()
    assert "| static | default | ✔ outputs | 1/1 | 100.0% |" in markdown
    assert "1500 tokens exceeds max of 1000" in markdown
    junit = ET.parse(root / "eval-results.junit.xml").getroot()
    suites = {suite.get("name"): suite for suite in junit}
    assert suites["metrics"].get("failures") == "1"
    assert suites["static"].get("tests") == "3"
    rows = summary_rows(root)
    assert rows[("metrics/over", None)]["passed"] is False
    assert read_json(root / "summary.json")["complete"] is True


def test_mcp_tools_recorded_then_replayed_for_python_and_shell_agents(
    harness: Harness, tmp_path: Path
) -> None:
    out, cassettes = tmp_path / "results", tmp_path / "cassettes"
    specs = ["-e", "evals/trajectory/eval.yaml", "-e", "evals/shell/eval.yaml"]
    common = [*specs, "--cassette-dir", str(cassettes), "--output-dir", str(out)]

    recorded = vally(harness, "eval", *common, "--mode", "record")
    assert recorded.exit_code == 0, recorded.describe()
    first = by_stimulus(latest(out))
    assert (cassettes / "trajectory" / "default" / "time-tool.jsonl").is_file()
    assert read_json(cassettes / "shell" / "mcp-tools.json") == {
        "time": ["convert_time", "get_current_time"]
    }
    replayed = vally(harness, "eval", *common, "--mode", "replay")
    assert replayed.exit_code == 0, replayed.describe()
    root = latest(out)
    second = by_stimulus(root)
    assert not (root / "tools").exists()  # replay starts no MCP server

    for key in ("trajectory/time-tool", "shell/shell-edits"):
        assert second[key]["gradeResult"]["passed"], second[key]["gradeResult"]
        calls = [e for e in second[key]["trajectory"]["events"] if e["type"] == "tool_result"]
        before = [e for e in first[key]["trajectory"]["events"] if e["type"] == "tool_result"]
        assert [e["data"]["result"] for e in calls] == [e["data"]["result"] for e in before]
    time_tool = graders(second["trajectory/time-tool"])
    assert time_tool["skill-invocation"] == (True, "Skill checks passed (activated: code-review)")
    assert time_tool["constraints.expect_tools"][0] is True
    shell = graders(second["shell/shell-edits"])
    assert shell["file-contains"] == (True, "'shell agent' found in shell.txt")
    stimulus = second["trajectory/time-tool"]["trajectory"]["stimulus"]
    assert stimulus["name"] == "time-tool"


def test_models_times_trials_statistics_and_require_pass(harness: Harness, tmp_path: Path) -> None:
    out = tmp_path / "results"
    run = vally(harness, "eval", "--suite", "stats", "--model", "m1,m2", "--output-dir", str(out))
    assert run.exit_code == 0, run.describe()
    root = latest(out)
    found = records(root)
    slots = sorted((r["model"], r["stimulusName"], r["trialIndex"]) for r in found)
    assert slots == sorted(
        (model, stimulus, index)
        for model in ("m1", "m2")
        for stimulus in ("steady", "flaky")
        for index in range(3)
    )
    assert len({r["shardKey"] for r in found}) == 12
    flaky = summary_rows(root)[("multi/flaky", "m1")]
    assert (flaky["trialsPassed"], flaky["trialsCounted"], flaky["flaky"]) == (2, 3, True)
    assert flaky["passAtK"] == 1.0
    assert round(flaky["passHatK"], 3) == 0.296  # Vally's plug-in (2/3)^3
    assert flaky["passHatKUnbiased"] == 0.0  # C(2,3)/C(3,3)
    assert "✘ multi/flaky [m1]: 2/3 passed · pass rate 66.7%" in run.stdout
    assert "pass@k: unbiased (Chen et al. 2021)" in run.stdout
    assert "· flaky" in run.stdout

    gated = vally(harness, "eval", "--suite", "stats", "--runs", "1", "--require-pass",
                  "--output-dir", str(out))  # fmt: skip
    assert gated.exit_code == 0, gated.describe()  # trial 0 of flaky says GOOD
    collision = vally(harness, "eval", "--suite", "stats", "--model", "a,b", "--workspace",
                      str(tmp_path / "ws"), "--output-dir", str(out))  # fmt: skip
    assert collision.exit_code == 2
    assert "--workspace cannot be used with multiple models" in collision.stderr
