"""run-command (harness.grading.commands) over a real folder with real (short) commands: exit
codes, output checks, sub_path and env, timeouts; paths that leave the workspace refused."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from harness.grading.commands import RunCommand, inline_regex
from harness.grading.verdict import ERRORED
from tests.support.graders import grade_in, sample_workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return sample_workspace(tmp_path / "ws")


async def test_run_command_passes_on_the_expected_exit_code(workspace: Path) -> None:
    verdict = await grade_in(RunCommand(command="test -f README.md && echo ok"), workspace)
    assert verdict.passed, verdict.evidence
    assert verdict.evidence.startswith("Command 'test -f README.md && echo ok' exited with code 0")


async def test_run_command_fails_with_vallys_evidence(workspace: Path) -> None:
    verdict = await grade_in(RunCommand(command="no-such-tool-xyz test"), workspace, case_id="c")
    assert not verdict.passed
    assert verdict.evidence.startswith(
        "Command 'no-such-tool-xyz test' exited with code 127 (expected 0); output tail: "
    )
    verdict = await grade_in(RunCommand(command="exit 1"), workspace)
    assert verdict.evidence == "Command 'exit 1' exited with code 1 (expected 0)"
    assert verdict.observed == {"exit_code": 1, "timed_out": False}


async def test_run_command_with_args_uses_no_shell(workspace: Path) -> None:
    spec = RunCommand(command="echo", args=["$HOME", "a;b"], stdout_contains="$HOME a;b")
    verdict = await grade_in(spec, workspace)
    assert verdict.passed, verdict.evidence
    assert verdict.evidence.startswith("Command 'echo '$HOME' 'a;b'' exited with code 0")


async def test_run_command_output_checks_and_score(workspace: Path) -> None:
    spec = RunCommand(
        command="echo 'Tests: 3 PASSED'; echo warn >&2; exit 2",
        expected_exit_code=2,
        stdout_contains=["Tests", "FAILED"],
        stderr_contains="warn",
        stdout_matches="(?i)tests: \\d+ passed",
        stdout_not_matches=["(?m)^error"],
    )
    verdict = await grade_in(spec, workspace)
    assert not verdict.passed
    assert verdict.score == pytest.approx(5 / 6)
    assert verdict.evidence.startswith("stdout lacks 'FAILED'")


async def test_inline_flags_anywhere_in_the_pattern() -> None:
    assert inline_regex("done(?s).end").search("DONE\nend") is None
    assert inline_regex("(?i)done(?s).end").search("DONE\nend") is not None


async def test_run_command_sub_path_and_env(workspace: Path) -> None:
    spec = RunCommand(
        command="pwd; echo $GREETING; echo $HARNESS_WORKSPACE",
        sub_path="src",
        env={"GREETING": "hi"},
        stdout_matches=["/ws/src$", "^hi$"],
    )
    spec = RunCommand(**{**_fields(spec), "stdout_matches": ["(?m)/ws/src$", "(?m)^hi$"]})
    verdict = await grade_in(spec, workspace)
    assert verdict.passed, verdict.evidence
    assert str(workspace) in verdict.details["stdout"]  # type: ignore[index]


def _fields(spec: RunCommand) -> dict[str, Any]:
    return {name: getattr(spec, name) for name in spec.__struct_fields__}


async def test_run_command_sub_path_symlink_out_is_refused(workspace: Path, tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", workspace / "escape")
    verdict = await grade_in(RunCommand(command="touch pwned", sub_path="escape"), workspace)
    assert not verdict.passed
    assert "outside the workspace" in verdict.evidence
    assert not (tmp_path / "outside" / "pwned").exists()


async def test_run_command_timeout_kills_the_command(workspace: Path) -> None:
    verdict = await grade_in(RunCommand(command="sleep 30", timeout="200ms"), workspace)
    assert not verdict.passed
    assert verdict.evidence == "Command 'sleep 30' timed out after 200ms and was killed"


async def test_run_command_without_a_workspace_is_an_error() -> None:
    verdict = await grade_in(RunCommand(command="true"), None, workspace_note="not kept")
    assert verdict.status == ERRORED
    assert verdict.evidence == "Command 'true' not run: no workspace (not kept)"


async def test_run_command_program_missing_is_an_error(workspace: Path) -> None:
    verdict = await grade_in(RunCommand(command="/no/such/program", args=[]), workspace)
    assert verdict.status == ERRORED
    assert "cannot start '/no/such/program'" in verdict.evidence
