"""`harness assay run|ci` as a drop-in for Assay's eval runner: real configs over each trace
format (untyped, typed V1, V2 events), outputs in the working directory, exit and reason
codes, refused flags, baselines, and the honest handling of Assay's defects."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli_runs import REPO

FIXTURES = REPO / "tests" / "fixtures" / "assay"
FORMATS = ["legacy", "v1", "v2"]


class Assay:
    """`python -m harness assay ...` in a scratch working directory."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd

    def __call__(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "harness", "assay", *args],
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=env,
        )

    def json(self, name: str) -> dict[str, Any]:
        value = json.loads((self.cwd / name).read_text())
        assert isinstance(value, dict)
        return value

    def rows(self) -> dict[str, dict[str, Any]]:
        return {row["test_id"]: row for row in self.json("run.json")["results"]}


@pytest.fixture
def assay(tmp_path: Path) -> Assay:
    for name in ("eval.yaml", "reference_v1.yaml", "judge.yaml"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    shutil.copytree(FIXTURES / "traces", tmp_path / "traces")
    return Assay(tmp_path)


@pytest.mark.parametrize("kind", FORMATS)
def test_run_passes_a_real_config_over_each_trace_format(assay: Assay, kind: str) -> None:
    done = assay(
        "run",
        "--config",
        "eval.yaml",
        "--trace-file",
        f"traces/golden.{kind}.jsonl",
        "--db",
        ":memory:",
    )
    assert done.returncode == 0, done.stderr
    run = assay.json("run.json")
    assert (run["exit_code"], run["reason_code"], run["reason_code_version"]) == (0, "", 1)
    assert run["suite"] == "travel" and run["order_seed"] == "7"
    rows = assay.rows()
    assert list(rows) == sorted(rows)  # Assay sorts results by test id
    assert {row["status"] for row in rows.values()} == {"pass"}
    weather = rows["weather"]
    assert weather["message"] == "ok"
    assert weather["details"]["metrics"]["must_contain"]["passed"] is True
    assert [a["type"] for a in weather["details"]["assertions"]] == [
        "trace_must_call_tool",
        "trace_max_steps",
    ]
    assert rows["booking"]["details"]["trace"]["tool_calls"] == 2
    summary = assay.json("summary.json")
    assert summary["schema"] == "assay.run_summary.v1"
    assert summary["results"] == {"passed": 6, "failed": 0, "warned": 0, "skipped": 0, "total": 6}
    assert not (assay.cwd / "junit.xml").exists()  # `run` writes no CI reports


@pytest.mark.parametrize("kind", FORMATS)
def test_a_config_written_against_the_v1_reference_runs(assay: Assay, kind: str) -> None:
    done = assay(
        "ci", "--config", "reference_v1.yaml", "--trace-file", f"traces/golden.{kind}.jsonl"
    )
    assert done.returncode == 0, done.stderr
    assert "no `suite:`" in done.stderr and "settings.timeout" in done.stderr
    weather = assay.rows()["weather"]
    types = [a["type"] for a in weather["details"]["assertions"]]
    assert types == [
        "trace_must_call_tool",
        "trace_no_tool_call",
        "trace_tool_args_match",
        "trace_tool_args_schema",
        "trace_no_tool_errors",
        "trace_tool_call_count",
    ]
    assert all(a["passed"] for a in weather["details"]["assertions"])
    assert ET.parse(assay.cwd / "junit.xml").getroot().get("tests") == "3"


def failing_trace(path: Path) -> None:
    lines = (FIXTURES / "traces" / "golden.legacy.jsonl").read_text().splitlines()
    changed = []
    for line in lines:
        record = json.loads(line)
        if record["prompt"] == "What is the weather in Tokyo?":
            record.update(response="It rains in Tokyo.", args={"city": "Osaka"})
        if record["prompt"] == "Book me a flight to Rome":
            record["tool_calls"].reverse()
        changed.append(json.dumps(record))
    path.write_text("\n".join(changed) + "\n")


def test_ci_failures_carry_messages_junit_sarif_and_a_pr_comment(assay: Assay) -> None:
    failing_trace(assay.cwd / "bad.jsonl")
    done = assay(
        "ci", "--config", "reference_v1.yaml", "--trace-file", "bad.jsonl", "--pr-comment", "pr.md"
    )
    assert done.returncode == 1, done.stderr
    run = assay.json("run.json")
    assert run["reason_code"] == "E_TEST_FAILED"
    assert run["resolution"]["next_step"]
    rows = assay.rows()
    weather = rows["weather"]
    assert weather["status"] == "fail"
    assert weather["message"] == (
        "assertions failed (1): trace_tool_args_match: call 1 (get_weather) has $.city ="
        " 'Osaka', expected 'Tokyo'"
    )
    booking = rows["booking"]  # the right answer, the calls in the wrong order
    assert booking["message"].startswith("assertions failed (1): trace_tool_sequence: expected")
    junit = ET.parse(assay.cwd / "junit.xml").getroot()
    assert (junit.get("tests"), junit.get("failures")) == ("3", "2")
    sarif = assay.json("sarif.json")
    results = sarif["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["trace_tool_sequence", "trace_tool_args_match"]
    region = results[1]["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] == 10  # the weather test's line in reference_v1.yaml
    comment = (assay.cwd / "pr.md").read_text()
    assert comment.startswith("<!-- assay-governance-report -->")
    assert "| Tests | 1/3 passed |" in comment and "`E_TEST_FAILED`" in comment


def test_a_split_judge_vote_is_uncertain_not_a_pass(assay: Assay) -> None:
    done = assay("run", "--config", "judge.yaml", "--trace-file", "traces/judge.v2.jsonl")
    assert done.returncode == 1
    rows = assay.rows()
    assert rows["split_vote"]["status"] == "warn"
    assert rows["split_vote"]["details"]["metrics"]["relevance"]["details"]["verdict"] == "Abstain"
    assert assay.json("run.json")["reason_code"] == "E_JUDGE_UNCERTAIN"
    assert assay.json("summary.json")["results"]["warned"] == 1
    assert (rows["faithful"]["status"], rows["similar"]["status"]) == ("pass", "pass")


def test_a_trace_miss_is_exit_2_and_3_with_v1_exit_codes(assay: Assay) -> None:
    (assay.cwd / "short.jsonl").write_text(
        (FIXTURES / "traces" / "golden.v1.jsonl").read_text().splitlines()[0] + "\n"
    )
    done = assay("run", "--config", "eval.yaml", "--trace-file", "short.jsonl")
    assert done.returncode == 2
    run = assay.json("run.json")
    assert run["reason_code"] == "E_TRACE_NOT_FOUND"
    assert assay.rows()["capital"]["message"].startswith("E_TRACE_MISS: no trace record")
    again = assay(
        "run", "--config", "eval.yaml", "--trace-file", "short.jsonl", "--exit-codes", "v1"
    )
    assert again.returncode == 3


def test_config_and_trace_problems_exit_2_with_a_minimal_run_json(assay: Assay) -> None:
    (assay.cwd / "bad.yaml").write_text(
        "suite: s\nmodel: trace\ntests:\n  - id: a\n    input: hi\n"
        "    expected: {type: json_matcher, schema: {}}\n"
    )
    done = assay("run", "--config", "bad.yaml", "--trace-file", "traces/golden.v1.jsonl")
    assert done.returncode == 2
    assert (
        "bad.yaml:6: tests[0].expected.type: unknown type 'json_matcher'; did you mean "
        "'json_match'? valid types:" in done.stderr
    )
    run = assay.json("run.json")
    assert run["reason_code"] == "E_CFG_PARSE" and "results" not in run
    assert assay.json("summary.json")["exit_code"] == 2
    missing = assay("run", "--config", "nope.yaml", "--trace-file", "traces/golden.v1.jsonl")
    assert missing.returncode == 2
    assert assay.json("run.json")["reason_code"] == "E_MISSING_CONFIG"
    (assay.cwd / "broken.jsonl").write_text('{"prompt": "x", "response": "y"}\nnot json\n')
    broken = assay("run", "--config", "eval.yaml", "--trace-file", "broken.jsonl")
    assert broken.returncode == 2
    assert "broken.jsonl:2: not JSON" in broken.stderr
    assert assay.json("run.json")["reason_code"] == "E_TRACE_NOT_FOUND"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ([], "--trace-file is required"),
        (["--incremental"], "--incremental is not supported"),
        (["--judge", "openai"], "--judge openai: harness replays trace files offline"),
        (["--embedder", "fake"], "--embedder fake: harness replays"),
        (["--baseline", "b.json", "--export-baseline", "c.json"], "exclude each other"),
    ],
)
def test_unsupported_flags_are_refused_not_ignored(
    assay: Assay, flags: list[str], message: str
) -> None:
    trace = [] if not flags else ["--trace-file", "traces/golden.v1.jsonl"]
    done = assay("run", "--config", "eval.yaml", *trace, *flags)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert assay.json("run.json")["reason_code"] == "E_INVALID_ARGS"


def test_baselines_export_compare_and_strict_warns(assay: Assay) -> None:
    config = (
        (assay.cwd / "eval.yaml")
        .read_text()
        .replace("  seed: 7\n", "  seed: 7\n  thresholding: {mode: relative, max_drop: 0.1}\n")
    )
    (assay.cwd / "rel.yaml").write_text(config)
    trace = ["--trace-file", "traces/golden.v2.jsonl"]
    exported = assay("run", "--config", "rel.yaml", *trace, "--export-baseline", "base.json")
    assert exported.returncode == 0, exported.stderr
    base = assay.json("base.json")
    assert base["suite"] == "travel" and base["config_fingerprint"].startswith("md5:")
    entries = {(e["test_id"], e["metric"]): e for e in base["entries"]}
    assert entries[("weather", "must_contain")]["score"] == 1.0
    del base["entries"][0]
    base["entries"][-1]["score"] = 1.5  # better than possible: this run drops by 0.5
    (assay.cwd / "base.json").write_text(json.dumps(base))
    lenient = assay("run", "--config", "rel.yaml", *trace, "--baseline", "base.json")
    assert lenient.returncode == 1
    rows = assay.rows()
    dropped = rows[base["entries"][-1]["test_id"]]
    assert dropped["status"] == "fail" and dropped["message"].startswith("regression: ")
    missing = rows[next(iter(sorted(entries)))[0]]
    assert missing["status"] == "warn"  # kept a warn: Assay turns it into a pass
    other = assay.json("base.json")
    other["suite"] = "elsewhere"
    (assay.cwd / "other.json").write_text(json.dumps(other))
    wrong = assay("run", "--config", "rel.yaml", *trace, "--baseline", "other.json")
    assert wrong.returncode == 2
    assert assay.json("run.json")["reason_code"] == "E_BASELINE_INVALID"


def test_strict_gates_on_a_warn(assay: Assay) -> None:
    config = (
        (assay.cwd / "eval.yaml")
        .read_text()
        .replace("  seed: 7\n", "  seed: 7\n  thresholding: {mode: relative}\n")
    )
    (assay.cwd / "rel.yaml").write_text(config)
    (assay.cwd / "empty.json").write_text(json.dumps({"suite": "travel", "entries": []}))
    trace = ["--trace-file", "traces/golden.v1.jsonl", "--baseline", "empty.json"]
    assert assay("run", "--config", "rel.yaml", *trace).returncode == 0
    strict = assay("run", "--config", "rel.yaml", *trace, "--strict")
    assert strict.returncode == 1
    assert assay.json("run.json")["reason_code"] == "E_POLICY_VIOLATION"


def test_format_json_prints_the_machine_documents(assay: Assay) -> None:
    trace = ["--trace-file", "traces/golden.legacy.jsonl", "--format", "json"]
    run = assay("run", "--config", "eval.yaml", *trace)
    report = json.loads(run.stdout)
    assert report["schema"] == "assay.run_report.v1" and len(report["results"]) == 6
    ci = assay("ci", "--config", "eval.yaml", *trace)
    assert json.loads(ci.stdout)["schema"] == "assay.run_summary.v1"


def test_an_ineffective_assertion_is_refused_unless_allowed(assay: Assay) -> None:
    (assay.cwd / "weak.yaml").write_text(
        "suite: s\nmodel: trace\ntests:\n  - id: weather\n"
        "    input: What is the weather in Tokyo?\n"
        "    assertions:\n      - {type: trace_must_call_tool, tool: get_weather, min_calls: 0}\n"
    )
    trace = ["--trace-file", "traces/golden.v1.jsonl"]
    refused = assay("run", "--config", "weak.yaml", *trace)
    assert refused.returncode == 2
    assert "min_calls: 0 holds for every trace" in refused.stderr
    allowed = assay("run", "--config", "weak.yaml", *trace, "--allow-ineffective-assertions")
    assert allowed.returncode == 0, allowed.stderr


def test_a_tests_own_max_drop_overrides_the_settings_one(assay: Assay) -> None:
    config = (
        (assay.cwd / "judge.yaml")
        .read_text()
        .replace("model: trace\n", "model: trace\nsettings:\n  thresholding: {mode: relative}\n")
        .replace(
            "{type: faithfulness, min_score: 0.8}",
            "{type: faithfulness, min_score: 0.8, thresholding: {max_drop: 0.5}}",
        )
    )
    (assay.cwd / "own.yaml").write_text(config)
    trace = ["--trace-file", "traces/judge.v2.jsonl"]
    assay("run", "--config", "own.yaml", *trace, "--export-baseline", "base.json")
    base = assay.json("base.json")
    for entry in base["entries"]:
        if (entry["test_id"], entry["metric"]) in {
            ("faithful", "faithfulness"),
            ("similar", "semantic_similarity_to"),
        }:
            entry["score"] = float(entry["score"]) + 0.3  # this run drops 0.3 on both
    (assay.cwd / "base.json").write_text(json.dumps(base))
    assay("run", "--config", "own.yaml", *trace, "--baseline", "base.json")
    rows = assay.rows()
    assert rows["faithful"]["status"] == "pass"  # within its own max_drop 0.5
    assert rows["similar"]["status"] == "fail"  # settings' max_drop 0
    assert rows["similar"]["message"].startswith("regression: ")


def test_tests_sharing_a_prompt_all_get_its_record(assay: Assay) -> None:
    """Assay looks responses up by the prompt alone: a V2 episode whose meta.test_id names one
    test still answers every test with that prompt."""
    events = [
        {"type": "episode_start", "episode_id": "e1", "timestamp": 1,
         "input": {"prompt": "Weather in Oslo?"}, "meta": {"test_id": "first"}},
        {"type": "step", "episode_id": "e1", "step_id": "s1", "idx": 0, "timestamp": 2,
         "kind": "llm_completion", "name": "model", "content": "Oslo: 4 C, rain"},
        {"type": "episode_end", "episode_id": "e1", "timestamp": 3, "outcome": "pass"},
    ]  # fmt: skip
    (assay.cwd / "shared.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    (assay.cwd / "shared.yaml").write_text(
        "suite: s\nmodel: trace\ntests:\n"
        "  - {id: first, input: 'Weather in Oslo?', expected: {must_contain: [rain]}}\n"
        "  - {id: second, input: 'Weather in Oslo?', expected: {must_contain: ['4 C']}}\n"
    )
    done = assay("run", "--config", "shared.yaml", "--trace-file", "shared.jsonl")
    assert done.returncode == 0, done.stderr
    assert {test: row["status"] for test, row in assay.rows().items()} == {
        "first": "pass",
        "second": "pass",
    }


@pytest.mark.parametrize(("policy", "status"), [("allow", "allowed_on_error"), ("block", "error")])
def test_on_error_allow_turns_an_error_into_allowed_on_error(
    assay: Assay, policy: str, status: str
) -> None:
    """A check that cannot run (embeddings missing from the trace) is an error; `on_error:
    allow` makes it allowed_on_error, counted as passed. The exit code follows Assay's rules:
    this error is config-class (E_REPLAY_MISSING_DEPENDENCY), so 2 either way."""
    (assay.cwd / "err.yaml").write_text(
        f"suite: s\nmodel: trace\nsettings: {{on_error: {policy}}}\ntests:\n"
        "  - id: weather\n    input: What is the weather in Tokyo?\n"
        "    expected: {type: semantic_similarity_to, semantic_similarity_to: sunny}\n"
    )
    done = assay("run", "--config", "err.yaml", "--trace-file", "traces/golden.legacy.jsonl")
    assert done.returncode == 2, done.stderr
    row = assay.rows()["weather"]
    assert row["status"] == status
    assert row.get("error_policy_applied") == ("allow" if policy == "allow" else None)
    summary = assay.json("summary.json")
    assert summary["reason_code"] == "E_REPLAY_MISSING_DEPENDENCY"
    assert summary["results"]["passed"] == (1 if policy == "allow" else 0)
