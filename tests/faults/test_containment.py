"""A suite cannot make harness read or overwrite files outside its project: not through
`{model}` and a symlink, not through a symlink made after loading, not by naming a schema, a
policy or a workspace file outside, and not by running harness from `/`. Record mode never
writes over a file that is not a cassette. See docs/security.md."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli_runs import Harness, Run, script_agent_command, started
from tests.support.files import write_suite

VICTIM_TEXT = "precious: not a cassette\n"
TOOLS_PY = """
import os
from pathlib import Path

def lookup(key):
    return {"key": key}

def make_link(name, target):
    # A tool (or the agent) can make a symlink while the attempt runs: after loading.
    link = Path(__file__).parent / "cassettes" / name
    link.parent.mkdir(exist_ok=True)
    os.symlink(target, link)
    return {"linked": name}
"""


def git_project(harness: Harness) -> Path:
    """A git work tree holding the suite folder `suite`: the suite's project."""
    root = harness.cwd / "project"
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def record_suite(root: Path, cases: list[dict[str, Any]], **settings: Any) -> Path:
    suite = write_suite(
        root / "suite",
        {
            "suite_name": "contained",
            "agent_command": script_agent_command(),
            "mode": "record",
            "tool_registry": ["lookup", "make_link"],
            "tools": {
                "lookup": {"backend": "python", "function": "tools:lookup"},
                "make_link": {"backend": "python", "function": "tools:make_link"},
            },
            **settings,
        },
        cases,
    )
    (suite / "tools.py").write_text(TOOLS_PY, encoding="utf-8")
    return suite


def lookup_case(cassette: str, *steps: dict[str, Any]) -> dict[str, Any]:
    calls = [*steps, {"call": "lookup", "args": {"key": "a"}}, {"final": {"ok": True}}]
    return {"id": "c", "cassette": cassette, "input": {"steps": calls}}


def victim(tmp_path: Path) -> Path:
    folder = tmp_path / "elsewhere"
    folder.mkdir(exist_ok=True)
    path = folder / "x.txt"
    path.write_text(VICTIM_TEXT, encoding="utf-8")
    return path


def one_error_line(run: Run) -> str:
    assert "Traceback" not in run.stderr, run.describe()
    [line] = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    return line


def test_model_placeholder_and_a_symlink_cannot_lead_a_record_run_out(tmp_path: Path) -> None:
    """Break 1: `cassettes/{model}/x.txt` with models [evil] and `cassettes/evil -> elsewhere`."""
    target = victim(tmp_path)
    with started(tmp_path / "run") as harness:
        harness.cwd.mkdir(parents=True)
        suite = record_suite(
            git_project(harness), [lookup_case("cassettes/{model}/x.txt")], models=["evil"]
        )
        (suite / "cassettes").mkdir()
        (suite / "cassettes" / "evil").symlink_to(target.parent)
        run = harness.run(suite)
        assert run.exit_code == 2, run.describe()
        line = one_error_line(run)
        assert "c.yaml:" in line and "cassette" in line, line
        assert f"resolving to {target}" in line and "outside the suite's project" in line, line
        assert target.read_text(encoding="utf-8") == VICTIM_TEXT


def test_a_symlink_made_during_the_run_is_refused_where_the_cassette_is_written(
    tmp_path: Path,
) -> None:
    """Containment is checked again at the point of use, on the path actually opened."""
    target = victim(tmp_path)
    with started(tmp_path / "run") as harness:
        harness.cwd.mkdir(parents=True)
        link = {"call": "make_link", "args": {"name": "late", "target": str(target.parent)}}
        suite = record_suite(git_project(harness), [lookup_case("cassettes/late/x.txt", link)])
        run = harness.run(suite)
        assert run.exit_code == 1, run.describe()
        [failure] = run.results_by_case()["c"]["failures"]
        assert failure["type"] == "cassette_error", failure
        assert "outside the suite's project" in failure["message"], failure
        assert target.read_text(encoding="utf-8") == VICTIM_TEXT


def test_record_mode_never_writes_over_a_file_that_is_not_a_cassette(tmp_path: Path) -> None:
    with started(tmp_path) as harness:
        suite = record_suite(git_project(harness), [lookup_case("notes.txt")])
        notes = suite / "notes.txt"
        notes.write_text(VICTIM_TEXT, encoding="utf-8")
        run = harness.run(suite)
        assert run.exit_code == 1, run.describe()
        [failure] = run.results_by_case()["c"]["failures"]
        assert failure["type"] == "cassette_error", failure
        assert "not a cassette line, so the file is not overwritten" in failure["message"]
        assert notes.read_text(encoding="utf-8") == VICTIM_TEXT
        # An empty file, or a cassette, is written as before.
        notes.write_text("", encoding="utf-8")
        assert harness.run(suite).exit_code == 0
        assert harness.run(suite).exit_code == 0
        assert '"tool":"lookup"' in notes.read_text(encoding="utf-8")


def test_running_from_the_filesystem_root_does_not_widen_the_project(tmp_path: Path) -> None:
    """The cwd never counts as the project: run from `/`, it would contain every file."""
    target = victim(tmp_path)
    with started(Path("/")) as harness:
        harness.out = tmp_path / "out"
        suite = record_suite(tmp_path / "plain", [lookup_case(str(target))])
        run = harness.run(suite)
        assert run.exit_code == 2, run.describe()
        assert "outside the suite's project" in one_error_line(run)
        assert target.read_text(encoding="utf-8") == VICTIM_TEXT


GRADERS_OUTSIDE = {
    "json_match": {"type": "json_match", "schema_path": "SCHEMA"},
    "trace_tool_args_schema": {
        "type": "trace_tool_args_schema",
        "tool": "lookup",
        "schema_file": "SCHEMA",
    },
}


@pytest.mark.parametrize("grader", sorted(GRADERS_OUTSIDE))
def test_a_schema_outside_the_project_is_refused_at_load(tmp_path: Path, grader: str) -> None:
    """Break 5: every path a config names goes through the one containment check."""
    schema = tmp_path / "elsewhere.json"
    schema.write_text('{"type": "object"}', encoding="utf-8")
    spec = {
        key: str(schema) if value == "SCHEMA" else value
        for key, value in GRADERS_OUTSIDE[grader].items()
    }
    with started(tmp_path) as harness:
        case = {**lookup_case("cassettes/c.jsonl"), "assertions": [spec]}
        suite = record_suite(git_project(harness), [case])
        run = harness.run(suite)
        assert run.exit_code == 2, run.describe()
        line = one_error_line(run)
        assert f"schema {schema} is outside the suite's project" in line, line
        assert "c.yaml:" in line, line


def test_a_workspace_file_outside_the_project_is_refused_at_load(tmp_path: Path) -> None:
    secret = tmp_path / "id_rsa"
    secret.write_text("not yours", encoding="utf-8")
    with started(tmp_path) as harness:
        case = {**lookup_case("cassettes/c.jsonl"), "workspace": {"files": [str(secret)]}}
        suite = record_suite(git_project(harness), [case])
        run = harness.run(suite)
        assert run.exit_code == 2, run.describe()
        line = one_error_line(run)
        assert "workspace.files[0].src" in line and "outside the suite's project" in line, line
        assert not list(harness.out.rglob("id_rsa"))


@pytest.mark.parametrize("field", ["cases_path", "baseline_path"])
def test_suite_paths_outside_the_project_are_refused_at_load(tmp_path: Path, field: str) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "stolen.yaml").write_text("id: stolen\ninput: {}\n", encoding="utf-8")
    (outside / "baseline.json").write_text("{}", encoding="utf-8")
    value = str(outside) if field == "cases_path" else str(outside / "baseline.json")
    with started(tmp_path) as harness:
        suite = record_suite(git_project(harness), [lookup_case("cassettes/c.jsonl")])
        text = (suite / "suite.yaml").read_text(encoding="utf-8")
        if field == "cases_path":
            text = text.replace("cases_path: cases\n", "")
        (suite / "suite.yaml").write_text(text + f"{field}: {value}\n", encoding="utf-8")
        run = harness.run(suite)
        assert run.exit_code == 2, run.describe()
        line = one_error_line(run)
        assert "suite.yaml:" in line and "outside the suite's project" in line, line


def test_a_checkout_without_git_names_its_root_in_the_environment(tmp_path: Path) -> None:
    """A container image or CI artifact has no .git: HARNESS_PROJECT_ROOT says where the
    project is, so a RunLedger suite sharing `../shared/` keeps working there."""
    with started(tmp_path) as harness:
        checkout = tmp_path / "checkout"
        suite = record_suite(checkout, [lookup_case("../shared/c.jsonl")])
        run = harness.run(suite)
        assert run.exit_code == 2, run.describe()
        assert "HARNESS_PROJECT_ROOT" in one_error_line(run)
        harness.env["HARNESS_PROJECT_ROOT"] = str(checkout)
        assert harness.run(suite).exit_code == 0
        assert (checkout / "shared" / "c.jsonl").is_file()
        harness.env["HARNESS_PROJECT_ROOT"] = "/"
        run = harness.run(suite)
        assert run.exit_code == 2 and "filesystem root" in one_error_line(run), run.describe()
