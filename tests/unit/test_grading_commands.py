"""run-command and the file graders over a real folder, with real (short) commands; paths that
leave the workspace are refused, durations carry units."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.config.paths import PathEscapeError, check_relative, inside, parse_duration
from harness.config.schema import GraderSpec
from harness.grading.commands import RunCommand, inline_regex
from harness.grading.context import GradingContext
from harness.grading.engine import run_grader
from harness.grading.files import (
    FileContains,
    FileExists,
    FileMatches,
    FileNotContains,
    FileNotExists,
    FileNotMatches,
)
from harness.grading.verdict import ERRORED, Verdict


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("def add(a, b):\n    return a + b\n")
    (root / "README.md").write_text("Hello World\n")
    return root


async def run(spec: GraderSpec, workspace: Path | None, **fields: Any) -> Verdict:
    return await run_grader(spec, GradingContext(output="x", workspace=workspace, **fields))


async def test_run_command_passes_on_the_expected_exit_code(workspace: Path) -> None:
    verdict = await run(RunCommand(command="test -f README.md && echo ok"), workspace)
    assert verdict.passed, verdict.evidence
    assert verdict.evidence.startswith("Command 'test -f README.md && echo ok' exited with code 0")


async def test_run_command_fails_with_vallys_evidence(workspace: Path) -> None:
    verdict = await run(RunCommand(command="no-such-tool-xyz test"), workspace, case_id="c")
    assert not verdict.passed
    assert verdict.evidence.startswith(
        "Command 'no-such-tool-xyz test' exited with code 127 (expected 0); output tail: "
    )
    verdict = await run(RunCommand(command="exit 1"), workspace)
    assert verdict.evidence == "Command 'exit 1' exited with code 1 (expected 0)"
    assert verdict.observed == {"exit_code": 1, "timed_out": False}


async def test_run_command_with_args_uses_no_shell(workspace: Path) -> None:
    spec = RunCommand(command="echo", args=["$HOME", "a;b"], stdout_contains="$HOME a;b")
    verdict = await run(spec, workspace)
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
    verdict = await run(spec, workspace)
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
    verdict = await run(spec, workspace)
    assert verdict.passed, verdict.evidence
    assert str(workspace) in verdict.details["stdout"]  # type: ignore[index]


def _fields(spec: RunCommand) -> dict[str, Any]:
    return {name: getattr(spec, name) for name in spec.__struct_fields__}


async def test_run_command_sub_path_symlink_out_is_refused(workspace: Path, tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", workspace / "escape")
    verdict = await run(RunCommand(command="touch pwned", sub_path="escape"), workspace)
    assert not verdict.passed
    assert "outside the workspace" in verdict.evidence
    assert not (tmp_path / "outside" / "pwned").exists()


async def test_run_command_timeout_kills_the_command(workspace: Path) -> None:
    verdict = await run(RunCommand(command="sleep 30", timeout="200ms"), workspace)
    assert not verdict.passed
    assert verdict.evidence == "Command 'sleep 30' timed out after 200ms and was killed"


async def test_run_command_without_a_workspace_is_an_error() -> None:
    verdict = await run(RunCommand(command="true"), None, workspace_note="not kept")
    assert verdict.status == ERRORED
    assert verdict.evidence == "Command 'true' not run: no workspace (not kept)"


async def test_run_command_program_missing_is_an_error(workspace: Path) -> None:
    verdict = await run(RunCommand(command="/no/such/program", args=[]), workspace)
    assert verdict.status == ERRORED
    assert "cannot start '/no/such/program'" in verdict.evidence


async def test_file_graders(workspace: Path) -> None:
    assert (await run(FileExists(path="src/app.py"), workspace)).passed
    missing = await run(FileExists(path="dist/app.js"), workspace)
    assert missing.evidence == "dist/app.js does not exist (expected: exists)"
    assert (await run(FileNotExists(path="dist"), workspace)).passed
    assert (await run(FileContains(path="README.md", text=["Hello", "World"]), workspace)).passed
    lacks = await run(FileContains(path="README.md", text="hello"), workspace)
    assert lacks.evidence == "README.md lacks 'hello'; starts: 'Hello World\\n'"
    folded = FileContains(path="README.md", text="hello", case_sensitive=False)
    assert (await run(folded, workspace)).passed
    assert not (await run(FileNotContains(path="README.md", text="World"), workspace)).passed
    assert (await run(FileMatches(path="src/app.py", pattern=r"def \w+\("), workspace)).passed
    bad = await run(FileNotMatches(path="src/app.py", pattern="return"), workspace)
    assert bad.evidence == "src/app.py matches forbidden /return/: 'return'"


async def test_file_graders_refuse_paths_out(workspace: Path, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("s3cret")
    os.symlink(tmp_path / "secret.txt", workspace / "link.txt")
    verdict = await run(FileContains(path="link.txt", text="s3cret"), workspace)
    assert not verdict.passed
    assert "outside the workspace" in verdict.evidence


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("2m", 120), ("500ms", 0.5), ("1h", 3600), (5, 5)]
)
def test_parse_duration(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["30", "2 minutes", "-1s", "0s", True])
def test_parse_duration_refuses(text: Any) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize("path", ["../x", "a/../../b", "/etc/passwd", "a\\..\\b", "C:/x", ""])
def test_relative_paths_refuse_escapes(path: str) -> None:
    with pytest.raises(PathEscapeError):
        check_relative(path)


@given(st.lists(st.sampled_from(["a", "b", "..", "."]), min_size=1, max_size=6))
def test_inside_never_leaves_the_root(parts: list[str]) -> None:
    root = Path("/tmp/harness-root-that-need-not-exist")
    try:
        target = inside(root, "/".join(parts))
    except PathEscapeError:
        assert ".." in parts
        return
    assert target == root or root in target.parents
