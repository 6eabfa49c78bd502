"""A history database that cannot be where it is asked to be (a file named `.harness` in the
cwd, a --db under a file, a FIFO) is one line and exit 2 before anything runs, never a
traceback or a hang."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support.cli_runs import REPO, started

DEMO = REPO / "suites" / "demo"


def demo_project(root: Path) -> Path:
    """The demo suite and its cassettes in a repository at `root`: the default history
    database is at the project root (the suite's repository), so `root/.harness` is where it
    goes, and the test's own checkout is never written to."""
    (root / ".git").mkdir()
    shutil.copytree(DEMO, root / "suites" / "demo")
    shutil.copytree(REPO / "cassettes" / "demo", root / "cassettes" / "demo")
    return root / "suites" / "demo"


@pytest.mark.parametrize("where", ["dot_harness_file", "db_under_a_file", "fifo"])
def test_an_unusable_history_location_is_one_line_and_exit_2(tmp_path: Path, where: str) -> None:
    with started(tmp_path) as harness:
        args: tuple[str, ...] = ()
        if where == "dot_harness_file":
            (tmp_path / ".harness").write_text("not a folder")
            expected = ".harness is a file, not a folder"
        elif where == "db_under_a_file":
            (tmp_path / "notes.txt").write_text("not a folder")
            args, expected = ("--db", "notes.txt/history.db"), "notes.txt is a file, not a folder"
        else:
            os.mkfifo(tmp_path / "history.db")
            args, expected = ("--db", "history.db"), "named pipe (FIFO), not a regular file"
        run = harness.run(demo_project(tmp_path), *args, timeout_seconds=60)
        assert run.exit_code == 2, run.describe()
        assert "Traceback" not in run.stderr, run.describe()
        [line] = run.stderr.strip().splitlines()
        assert expected in line and "--db" in line, line
        assert not harness.run_dirs(), "nothing may run"
