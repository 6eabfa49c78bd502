"""Vally's workspace graders over real folders: globs (braces, `**`), contains and matches in at
least one file, the `not` forms, unreadable matches, paths that leave the workspace, and the
diff graders against a snapshot of the workspace as it was set up."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.grading.vally.files import (
    DiffContains,
    DiffEmpty,
    DiffNotContains,
    FileContains,
    FileExists,
    FileMatches,
    FileNotContains,
    FileNotExists,
    FileNotMatches,
)
from harness.grading.vally.trajectory import BASELINE_KEY
from tests.support.vally_trajectories import grade, trajectory


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "src" / "lib").mkdir(parents=True)
    (root / "src" / "add.test.js").write_text("expect(add(1, 2)).toBe(3)\n")
    (root / "src" / "lib" / "Program.cs").write_text("static int Add(int a, int b)\n")
    (root / "notes.txt").write_text("Hello\n")
    return root


async def test_file_exists_with_globs(workspace: Path) -> None:
    found = await grade(FileExists(path="**/*.test.js"), trajectory(), workspace)
    assert (found.passed, found.evidence) == (
        True,
        "Files matching '**/*.test.js' found: src/add.test.js",
    )
    braces = await grade(FileExists(path="src/**/*.{cs,ts}"), trajectory(), workspace)
    assert braces.evidence == "Files matching 'src/**/*.{cs,ts}' found: src/lib/Program.cs"
    missing = await grade(FileExists(path="*.tmp"), trajectory(), workspace)
    assert (missing.passed, missing.evidence) == (False, "No files matching '*.tmp' found")
    assert (await grade(FileNotExists(path="*.tmp"), trajectory(), workspace)).passed
    assert (await grade(FileExists(path="*.tmp", negate=True), trajectory(), workspace)).passed


async def test_file_contains_in_at_least_one_match(workspace: Path) -> None:
    found = await grade(FileContains(path="src/*.js", value="expect"), trajectory(), workspace)
    assert found.evidence == "'expect' found in src/add.test.js"
    missing = await grade(FileContains(path="**/*", value="nothing"), trajectory(), workspace)
    assert not missing.passed
    assert missing.evidence.startswith("'nothing' NOT found in ")
    none = await grade(FileContains(path="x.js", value="a"), trajectory(), workspace)
    assert none.evidence == "No files matching 'x.js' found"
    # case-sensitive, as Vally's
    assert not (
        await grade(FileContains(path="notes.txt", value="hello"), trajectory(), workspace)
    ).passed
    banned = FileNotContains(path="*.txt", value="Hello")
    assert not (await grade(banned, trajectory(), workspace)).passed


async def test_file_matches_skips_unreadable_matches(workspace: Path) -> None:
    spec = FileMatches(path="src/**", pattern=r"(?i)STATIC\s+int\s+add\(")
    matched = await grade(spec, trajectory(), workspace)
    assert matched.passed, matched.evidence
    assert "skipped unreadable: src (Is a directory), src/lib (Is a directory)" in matched.evidence
    assert not (
        await grade(FileNotMatches(path="**/*.cs", pattern="Add"), trajectory(), workspace)
    ).passed


async def test_paths_that_leave_the_workspace_fail(workspace: Path) -> None:
    escaped = await grade(FileExists(path="../outside"), trajectory(), workspace)
    assert not escaped.passed
    assert "leaves the workspace" in escaped.evidence
    (workspace / "link").symlink_to(workspace.parent)
    (workspace.parent / "secret.txt").write_text("s")
    linked = await grade(FileExists(path="link/secret.txt"), trajectory(), workspace)
    assert not linked.passed


async def test_without_a_workspace_the_grader_errors() -> None:
    result = await grade(FileExists(path="a"), trajectory(), None)
    assert result.status == "error"


async def test_diff_graders(workspace: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline"
    shutil.copytree(workspace, baseline)
    meta = {BASELINE_KEY: str(baseline)}
    empty = await grade(DiffEmpty(), trajectory(), workspace, meta)
    assert (empty.passed, empty.evidence) == (True, "Workspace unchanged")
    (workspace / "notes.txt").write_text("Hello\nWorld\n")
    (workspace / "new.py").write_text("print('hi')\n")
    changed = await grade(DiffEmpty(), trajectory(), workspace, meta)
    assert (changed.passed, changed.evidence) == (False, "Changed: new.py, notes.txt")
    assert (await grade(DiffContains(substring="+World"), trajectory(), workspace, meta)).passed
    scoped = DiffContains(substring="+World", path="*.py")
    assert not (await grade(scoped, trajectory(), workspace, meta)).passed
    assert (await grade(DiffNotContains(substring="-Hello"), trajectory(), workspace, meta)).passed
    assert (await grade(DiffEmpty(path="src/**"), trajectory(), workspace, meta)).passed
    no_snapshot = await grade(DiffEmpty(), trajectory(), workspace)
    assert no_snapshot.status == "error"
