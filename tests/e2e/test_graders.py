"""Graders in real `harness run`s: a per-attempt workspace the agent works in, run-command and
file graders there (a sub_path escape refused), Assay's trace assertions over a cassette,
threshold scoring, the offline judge (exit 3 when it fails), `--skip-grade` then `harness
grade`, plugins and the catalogue."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.cli_runs import REPO, Harness
from tests.support.files import interaction, read_json, read_jsonl, write_suite

WORKSPACE_AGENT = ["python3", str(REPO / "tests" / "agents" / "workspace_agent.py")]
JUDGE = [sys.executable, str(REPO / "tests" / "agents" / "judge.py")]
AGENT_SUITE = {"suite_name": "t", "agent_command": WORKSPACE_AGENT}
SCRIPT_AGENT = ["python3", str(REPO / "tests" / "agents" / "script_agent.py")]


def cli(harness: Harness, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=harness.cwd,
        env=harness.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def workspace_suite(root: Path, cases: list[dict[str, Any]], **suite: Any) -> Path:
    (root / "fixtures").mkdir(parents=True, exist_ok=True)
    (root / "fixtures" / "spec.txt").write_text("build a greeter\n")
    settings = {
        "suite_name": "ws",
        "agent_command": WORKSPACE_AGENT,
        "workspace": {"files": ["fixtures"], "commands": ["echo ready > setup.txt"]},
        **suite,
    }
    return write_suite(root, settings, cases)


GREETER = {"greet.py": "print('hello, world')\n"}


def test_the_agent_works_in_its_workspace_and_graders_look_there(harness: Harness) -> None:
    cases: list[dict[str, Any]] = [
        {
            "id": "writes_greeter",
            "input": {"write": GREETER, "answer": "done"},
            "assertions": [
                {"type": "file-exists", "path": "greet.py"},
                {"type": "file-contains", "path": "fixtures/spec.txt", "text": "greeter"},
                {
                    "type": "run-command",
                    "command": "python3",
                    "args": ["greet.py"],
                    "stdout_matches": "(?i)HELLO",
                },
                {"type": "run-command", "command": "cat setup.txt", "stdout_contains": "ready"},
            ],
        },
        {
            "id": "forgets_greeter",
            "input": {"write": {}, "answer": "done"},
            "assertions": [{"type": "run-command", "command": "python3 greet.py"}],
        },
    ]
    run = harness.run(workspace_suite(harness.cwd / "s", cases), "--workspace", "kept")
    assert run.exit_code == 1, run.describe()
    results = run.results_by_case()
    ok = results["writes_greeter"]
    assert ok["status"] == "pass", ok
    workspace = Path(ok["workspace"])
    assert workspace.parent.parent == harness.cwd / "kept"
    assert (workspace / "greet.py").is_file() and (workspace / "setup.txt").is_file()
    events = run.events_of("writes_greeter", "final_output")
    assert events[0]["output"]["cwd"] == str(workspace)
    assert events[0]["output"]["listing"] == ["fixtures", "greet.py", "setup.txt"]
    [failure] = results["forgets_greeter"]["failures"]
    assert failure["type"] == "assertion_failed"
    assert failure["message"].startswith(
        "Command 'python3 greet.py' exited with code 2 (expected 0); output tail: "
    )
    assert failure["details"]["assertion"] == "run-command"


def test_workspaces_are_removed_unless_kept(harness: Harness) -> None:
    cases = [{"id": "a", "input": {"write": GREETER}, "assertions": []}]
    run = harness.run(workspace_suite(harness.cwd / "s", cases))
    assert run.exit_code == 0, run.describe()
    cwd = run.events_of("a", "final_output")[0]["output"]["cwd"]
    assert not Path(cwd).exists()
    assert "workspace" not in run.results()[0]


def test_a_sub_path_escape_is_refused(harness: Harness, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    escape = {"type": "run-command", "command": "touch pwned", "sub_path": "../.."}
    suite = workspace_suite(harness.cwd / "s", [{"id": "a", "input": {}, "assertions": [escape]}])
    run = harness.run(suite)
    assert run.exit_code == 2
    assert run.stderr.strip() == (
        "error: s/cases/a.yaml:6: assertions[0].sub_path: '../..' leaves the workspace"
        " ('..' is not allowed)"
    )
    linked = {**escape, "sub_path": "out"}
    case = {"id": "a", "input": {"symlink": {"out": str(outside)}}, "assertions": [linked]}
    run = harness.run(workspace_suite(harness.cwd / "s2", [case]))
    assert run.exit_code == 1, run.describe()
    [failure] = run.results()[0]["failures"]
    assert "outside the workspace (a symlink points out)" in failure["message"]
    assert not (outside / "pwned").exists()


def test_assays_assertions_in_a_harness_suite(harness: Harness) -> None:
    search = [interaction("search", {"query": "shoes", "page": 1}, ["s1"])]
    case = {
        "id": "shop",
        "cassette": "cassettes/shop.jsonl",
        "input": {
            "steps": [
                {"call": "search", "args": {"query": "shoes", "page": 1}},
                {"final": {"reply": "Found s1"}},
            ]
        },
        "assertions": [
            {"type": "trace_must_call_tool", "tool": "search"},
            {"type": "trace_tool_args_match", "tool_name": "search", "args": {"page": 1}},
            {"type": "trace_tool_args_schema", "tool": "search", "schema": {"required": ["query"]}},
            {"type": "trace_tool_sequence", "sequence": ["search"], "allow_other_tools": False},
            {"type": "trace_no_tool_errors"},
            {"type": "trace_tool_call_count", "tool": "search", "max": 1},
            {"type": "trace_no_tool_call", "tool_name": "refund"},
            {"type": "must_contain", "must_contain": "Found"},
            {"type": "json_match", "schema": {"required": ["reply"]}},
            {"type": "regex_match", "pattern": "s[0-9]"},
        ],
    }
    wrong = {
        **case,
        "id": "shop_wrong",
        "assertions": [
            {"type": "trace_tool_args_match", "tool": "search", "args": {"page": 2}},
            {"type": "exact_match", "value": {"reply": "Found s2"}},
        ],
    }
    suite = {"suite_name": "shop", "agent_command": SCRIPT_AGENT, "tool_registry": ["search"]}
    root = write_suite(harness.cwd / "s", suite, [case, wrong], {"cassettes/shop.jsonl": search})
    run = harness.run(root)
    assert run.exit_code == 1, run.describe()
    results = run.results_by_case()
    assert results["shop"]["status"] == "pass", results["shop"]
    assert len(results["shop"]["verdicts"]) == 10
    messages = [f["message"] for f in results["shop_wrong"]["failures"]]
    assert messages == [
        "call 1 (search) has $.page = 1, expected 2",
        # the path at which the two JSON values differ, not the two whole values
        "output differs at 1 path(s): reply: expected 'Found s2', got 'Found s1'",
    ]


def test_threshold_scoring_and_the_command_line_override(harness: Harness) -> None:
    case = {
        "id": "partial",
        "input": {"answer": "Paris"},
        "threshold": 0.6,
        "assertions": [
            {"type": "must_contain", "must_contain": "Paris", "weight": 2},
            {"type": "must_contain", "must_contain": "France", "name": "country"},
        ],
    }
    root = write_suite(harness.cwd / "s", AGENT_SUITE, [case])
    passed = harness.run(root)
    assert passed.exit_code == 0, passed.describe()
    result = passed.results()[0]
    assert (result["score"], result["threshold"]) == (2 / 3, 0.6)
    failed = harness.run(root, "--threshold", "0.9")
    assert failed.exit_code == 1
    first, second = failed.results()[0]["failures"]
    assert first["type"] == "score_below_threshold"
    assert first["message"] == "weighted score 0.667 is below threshold 0.9"
    assert second["details"] == {
        "assertion": "must_contain",
        "name": "country",
        "score": 0.0,
        "missing": ["France"],
    }
    bad = harness.run(root, "--threshold", "70")
    assert bad.exit_code == 2
    assert "--threshold must be a fraction between 0 and 1, got 70; did you mean 0.7?" in bad.stderr


def judge_case(case_id: str, rubric: str, **extra: Any) -> dict[str, Any]:
    judge = {"type": "judge", "rubric": rubric, "command": JUDGE, **extra}
    return {"id": case_id, "input": {"answer": "Paris"}, "assertions": [judge]}


def test_the_judge_decides_splits_are_uncertain_and_failures_exit_3(harness: Harness) -> None:
    suite = AGENT_SUITE
    good = write_suite(harness.cwd / "good", suite, [judge_case("j", "mentions Paris")])
    assert harness.run(good).exit_code == 0
    split = write_suite(harness.cwd / "split", suite, [judge_case("j", "split")])
    run = harness.run(split, "--judge-samples", "2")
    assert run.exit_code == 1, run.describe()
    [failure] = run.results()[0]["failures"]
    assert failure["type"] == "judge_uncertain"
    assert run.results()[0]["status"] == "fail"
    assert harness.run(split, "--judge-samples", "3").exit_code == 0
    broken = write_suite(harness.cwd / "broken", suite, [judge_case("j", "crash")])
    run = harness.run(broken)
    assert run.exit_code == 3, run.describe()
    result = run.results()[0]
    assert result["status"] == "error"
    assert result["failures"][0]["type"] == "grader_error"
    message = result["failures"][0]["message"]
    assert "exited with code 3: judge: model endpoint unreachable" in message
    assert run.run_json()["reason_code"] == "grader_error"


def digest(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_skip_grade_then_grade_with_the_current_config(harness: Harness) -> None:
    cases = [
        {
            "id": "a",
            "input": {"write": GREETER, "answer": "Paris"},
            "assertions": [
                {"type": "run-command", "command": "python3 greet.py", "stdout_contains": "hello"}
            ],
        },
        {
            "id": "b",
            "input": {"answer": "Rome"},
            "assertions": [{"type": "must_contain", "must_contain": "Rome"}],
        },
    ]
    root = workspace_suite(harness.cwd / "s", cases)
    run = harness.run(root, "--skip-grade")
    assert run.exit_code == 0, run.describe()
    assert {r["status"] for r in run.results()} == {"ungraded"}
    assert "2 ungraded" in run.stdout
    before = digest(run.dir)

    graded = cli(harness, "grade", str(run.dir))
    assert graded.returncode == 0, graded.stderr + graded.stdout
    grade_dir = _grade_dir(graded)
    summary = read_json(grade_dir / "summary.json")
    assert summary["aggregates"]["cases_pass"] == 2
    assert {r["status"] for r in read_jsonl(grade_dir / "results.jsonl")} == {"pass"}

    # The config changes; grading again judges the same transcripts by the new rules.
    (root / "cases" / "b.yaml").write_text(
        "id: b\ninput: {answer: Rome}\nassertions: [{type: must_contain, must_contain: Paris}]\n"
    )
    regraded = cli(harness, "grade", str(run.dir))
    assert regraded.returncode == 1, regraded.stdout
    assert "b: fail: output lacks 'Paris' (1 of 1 missing); output: " in regraded.stdout
    junit = (_grade_dir(regraded) / "junit.xml").read_text()
    assert 'failures="1"' in junit
    after = digest(run.dir)
    assert {k: v for k, v in after.items() if not k.startswith("grades/")} == before


def test_grade_without_kept_workspaces_says_why(harness: Harness) -> None:
    case = {"id": "a", "input": {}, "assertions": [{"type": "file-exists", "path": "setup.txt"}]}
    run = harness.run(workspace_suite(harness.cwd / "s", [case]))
    assert run.exit_code == 0, run.describe()
    graded = cli(harness, "grade", str(run.dir))
    assert graded.returncode == 3
    assert "no workspace (the run did not keep its workspaces" in graded.stdout
    missing = cli(harness, "grade", str(harness.cwd / "nowhere"))
    assert missing.returncode == 2
    assert "not a run directory" in missing.stderr


def _grade_dir(done: subprocess.CompletedProcess[str]) -> Path:
    line = done.stdout.strip().splitlines()[-1]
    assert line.startswith("Grade directory: "), done.stdout
    return Path(line.removeprefix("Grade directory: "))


PLUGIN = """\
from harness.config.schema import GraderSpec
from harness.grading.registry import GraderType
from harness.grading.verdict import verdict


class Shout(GraderSpec, frozen=True, tag="shout"):
    pass


def grade(spec, context):
    text = context.output_text()
    return verdict(spec, text.upper() == text, "output is all caps")


GRADERS = [GraderType("shout", Shout, grade, "The output is in capitals.")]
"""


def test_grader_plugins_and_the_catalogue(harness: Harness) -> None:
    (harness.cwd / "shout_plugin.py").write_text(PLUGIN)
    harness.env["PYTHONPATH"] = str(harness.cwd)
    case = {"id": "a", "input": {"answer": "HI"}, "assertions": [{"type": "shout"}]}
    root = write_suite(harness.cwd / "s", AGENT_SUITE, [case])
    unknown = harness.run(root)
    assert unknown.exit_code == 2
    assert 'assertions[0].type: unknown type "shout"; valid types: json_schema,' in unknown.stderr
    run = harness.run(root, "--grader-plugin", "shout_plugin")
    assert run.exit_code == 1  # the output is a JSON object: its text has lower-case keys
    assert run.results()[0]["verdicts"][0]["grader"] == "shout"
    catalogue = cli(harness, "graders", "--grader-plugin", "shout_plugin")
    assert catalogue.returncode == 0
    for name in ("trace_tool_args_match", "run-command", "judge", "shout", "sub_path"):
        assert name in catalogue.stdout
    one = cli(harness, "graders", "run-command")
    assert "expected_exit_code" in one.stdout and "must_contain" not in one.stdout
