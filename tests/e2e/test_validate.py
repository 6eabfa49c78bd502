"""Everything is validated before any agent starts: a missing cassette in replay, a workspace
grader without a workspace, misspelt keys and types; by `run`, `run --runs 0` and `harness
validate` alike, each problem one line with its file:line, exit 2."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli_runs import SCRIPT_AGENT, Harness, command
from tests.support.files import write_suite

FINAL = {"steps": [{"final": {"answer": 1}}]}


def suite_with(root: Path, *cases: dict[str, Any], **settings: Any) -> Path:
    """A suite whose agent, once started, leaves `started` in the suite folder."""
    agent = root / "agent.py"
    root.mkdir(parents=True, exist_ok=True)
    agent.write_text(
        "import os, runpy, sys\n"
        "open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'started'), 'w').close()\n"
        f"runpy.run_path({str(SCRIPT_AGENT)!r}, run_name='__main__')\n",
        encoding="utf-8",
    )
    settings = {"suite_name": "checked", "agent_command": ["python3", "agent.py"], **settings}
    return write_suite(root, settings, cases)


def validate(harness: Harness, suite: Path, *args: str) -> Any:
    return command(harness, "validate", str(suite), *args)


@pytest.mark.parametrize("how", ["run", "runs0", "validate"])
def test_a_missing_cassette_in_replay_is_found_before_any_agent(
    harness: Harness, tmp_path: Path, how: str
) -> None:
    suite = suite_with(
        tmp_path / "evals",
        {"id": "t1", "input": FINAL, "cassette": "cassettes/t1.jsonl"},
        {"id": "t2", "input": FINAL, "description": "two", "cassette": "cassettes/t2.jsonl"},
    )
    if how == "validate":
        result = validate(harness, suite)
    else:
        result = harness.run(suite, *(["--runs", "0"] if how == "runs0" else []))

    assert result.exit_code == 2, result.describe()
    hint = (
        "record it with `harness run evals --mode record` "
        "(a case's cassette is written when it reaches final_output; --mode auto replays what "
        "is recorded and records what is missing)"
    )
    assert result.stderr.splitlines() == [
        f"error: evals/cases/t1.yaml:6: cassette: evals/cassettes/t1.jsonl not found; {hint}",
        f"error: evals/cases/t2.yaml:7: cassette: evals/cassettes/t2.jsonl not found; {hint}",
    ]
    assert "SUITE" not in result.stderr
    assert not (suite / "started").exists()
    assert not harness.run_dirs()


def test_missing_cassettes_are_fine_where_they_get_recorded(
    harness: Harness, tmp_path: Path
) -> None:
    suite = suite_with(tmp_path / "evals", {"id": "t1", "input": FINAL, "cassette": "c/t1.jsonl"})
    for mode in ("record", "auto", "live"):
        result = validate(harness, suite, "--mode", mode)
        assert result.exit_code == 0, result.describe()
    # Only the cases a run selects need their cassettes.
    (suite / "c").mkdir()
    (suite / "c" / "t1.jsonl").touch()
    suite_with(suite, {"id": "t2", "input": FINAL, "cassette": "c/t2.jsonl"})
    assert validate(harness, suite, "--case", "t1").exit_code == 0
    assert validate(harness, suite).exit_code == 2


def test_a_workspace_grader_without_a_workspace_is_refused_at_load(
    harness: Harness, tmp_path: Path
) -> None:
    check = {"type": "run-command", "command": "test -f out.txt"}
    suite = suite_with(
        tmp_path / "evals",
        {"id": "t1", "input": FINAL, "assertions": [check]},
        {"id": "t2", "input": FINAL, "workspace": {"files": []}},
        assertions=[{"type": "file-exists", "path": "out.txt"}],
    )
    for result in (harness.run(suite), validate(harness, suite)):
        assert result.exit_code == 2, result.describe()
        assert result.stderr.splitlines() == [
            "error: evals/suite.yaml:9: assertions[0]: file-exists grades the attempt's workspace,"
            " but case 't1' (it takes the suite's assertions) has no `workspace:`; give the case"
            " or the suite one (e.g. `workspace: {files: [fixtures]}`)",
            "error: evals/cases/t1.yaml:7: assertions[0]: run-command grades the attempt's"
            " workspace, but case 't1' has no `workspace:`; give the case or the suite one"
            " (e.g. `workspace: {files: [fixtures]}`)",
        ]
    assert not (suite / "started").exists()
    assert sorted(os.listdir(harness.cwd)) == ["evals"]  # the agent wrote nothing here


def test_validate_says_what_a_run_would_make(harness: Harness, tmp_path: Path) -> None:
    suite = suite_with(
        tmp_path / "evals",
        {"id": "t1", "input": FINAL},
        {"id": "t2", "input": FINAL},
        runs=3,
    )
    result = validate(harness, suite, "--model", "a,b")
    assert result.exit_code == 0, result.describe()
    assert result.stderr.splitlines() == [
        "checked: valid; a run makes 2 case(s) x 2 model(s) (a, b) x 3 trial(s) = 12 attempt(s)"
    ]
    assert not (suite / "started").exists()
    assert not harness.run_dirs()


def test_did_you_mean(harness: Harness, tmp_path: Path) -> None:
    suite = suite_with(
        tmp_path / "evals",
        {"id": "t1", "input": FINAL, "assertions": [{"type": "must_cal", "tools": ["x"]}]},
        budgts={"max_wall_ms": 100},
    )
    result = validate(harness, suite, "--mode", "replya")
    assert result.exit_code == 2, result.describe()
    lines = result.stderr.splitlines()
    assert lines[0].startswith(
        "error: evals/suite.yaml:8: budgts: unknown key; did you mean 'budgets'? valid keys: "
    )
    assert lines[1].startswith(
        'error: evals/cases/t1.yaml:7: assertions[0].type: unknown type "must_cal"; did you '
        "mean 'must_call'? valid types: "
    )
    assert lines[2] == (
        "error: mode: unknown mode 'replya'; did you mean 'replay'? valid modes: "
        "replay, record, auto, live (from --mode)"
    )
