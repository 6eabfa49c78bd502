"""The file graders (harness.grading.files) over a real folder: exists, contains, matches and
their negations; a path that leaves the workspace is refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.grading.files import (
    FileContains,
    FileExists,
    FileMatches,
    FileNotContains,
    FileNotExists,
    FileNotMatches,
)
from tests.support.graders import grade_in, sample_workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return sample_workspace(tmp_path / "ws")


async def test_file_graders(workspace: Path) -> None:
    assert (await grade_in(FileExists(path="src/app.py"), workspace)).passed
    missing = await grade_in(FileExists(path="dist/app.js"), workspace)
    assert missing.evidence == "dist/app.js does not exist (expected: exists)"
    assert (await grade_in(FileNotExists(path="dist"), workspace)).passed
    assert (
        await grade_in(FileContains(path="README.md", text=["Hello", "World"]), workspace)
    ).passed
    lacks = await grade_in(FileContains(path="README.md", text="hello"), workspace)
    assert lacks.evidence == "README.md lacks 'hello'; starts: 'Hello World\\n'"
    folded = FileContains(path="README.md", text="hello", case_sensitive=False)
    assert (await grade_in(folded, workspace)).passed
    assert not (await grade_in(FileNotContains(path="README.md", text="World"), workspace)).passed
    assert (await grade_in(FileMatches(path="src/app.py", pattern=r"def \w+\("), workspace)).passed
    bad = await grade_in(FileNotMatches(path="src/app.py", pattern="return"), workspace)
    assert bad.evidence == "src/app.py matches forbidden /return/: 'return'"


async def test_file_graders_refuse_paths_out(workspace: Path, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("s3cret")
    os.symlink(tmp_path / "secret.txt", workspace / "link.txt")
    verdict = await grade_in(FileContains(path="link.txt", text="s3cret"), workspace)
    assert not verdict.passed
    assert "outside the workspace" in verdict.evidence
