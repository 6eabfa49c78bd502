"""`--incremental` skips an attempt only when nothing that decides its outcome changed."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from harness.plan.load import load_suite
from harness.storage.fingerprint import agent_digest, attempt_fingerprint

SUITE = """\
suite_name: s
mode: replay
agent_command: [python3, agent.py]
cases_path: cases
tool_registry: []
workspace: {files: [fixtures], commands: [echo ready]}
"""


def _fingerprint(root: Path, **changes: object) -> str:
    suite = load_suite(root)
    case = msgspec.structs.replace(suite.cases[0], **changes) if changes else suite.cases[0]
    return attempt_fingerprint(suite, case, agent=agent_digest(suite))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "cases").mkdir()
    (tmp_path / "suite.yaml").write_text(SUITE)
    (tmp_path / "cases" / "t1.yaml").write_text("id: t1\ninput: hi\nthreshold: 0.5\n")
    (tmp_path / "fixtures" / "sub").mkdir(parents=True)
    (tmp_path / "fixtures" / "sub" / "data.txt").write_text("v1")
    return tmp_path


def test_the_fingerprint_is_stable_while_nothing_changes(root: Path) -> None:
    assert _fingerprint(root) == _fingerprint(root)


def test_a_new_threshold_changes_the_fingerprint(root: Path) -> None:
    assert _fingerprint(root, threshold=0.9) != _fingerprint(root)


def test_a_seeded_workspace_file_or_command_changes_the_fingerprint(root: Path) -> None:
    before = _fingerprint(root)
    (root / "fixtures" / "sub" / "data.txt").write_text("v2")
    edited = _fingerprint(root)
    assert edited != before
    (root / "fixtures" / "new.txt").write_text("x")
    assert _fingerprint(root) != edited
    (root / "suite.yaml").write_text(SUITE.replace("echo ready", "echo set"))
    assert _fingerprint(root) not in (before, edited)
