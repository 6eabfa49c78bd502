"""One table of exit codes, `harness run` and `harness ci` alike: an agent that cannot be
started is the suite's mistake (exit 2 before anything runs, as a program not on PATH always
was), a trial lost to infrastructure is not a failing case (exit 3, as a grader that cannot
run), and the process exits with what run.json records."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.cli_runs import Harness, command, started
from tests.support.files import write_suite

AGENTS = {
    "not_executable": ("#!/bin/sh\necho hi\n", 0o644, "is not executable"),
    "missing_interpreter": ("#!/nonexistent/python9\n", 0o755, "#! interpreter"),
    "folder": (None, 0o755, "is a folder"),
}


def suite_with_agent(harness: Harness, content: str | None, mode: int) -> Path:
    suite = write_suite(
        harness.cwd / "s",
        {"suite_name": "codes", "agent_command": ["./agent"]},
        [{"id": "c", "input": {}}],
    )
    agent = suite / "agent"
    if content is None:
        agent.mkdir()
    else:
        agent.write_text(content)
        agent.chmod(mode)
    return suite


@pytest.mark.parametrize("name", sorted(AGENTS))
def test_an_agent_that_cannot_start_is_exit_2_before_anything_runs(
    tmp_path: Path, name: str
) -> None:
    content, mode, expected = AGENTS[name]
    with started(tmp_path) as harness:
        suite = suite_with_agent(harness, content, mode)
        for args in (("run", str(suite)), ("ci", str(suite))):
            done = command(harness, *args, "--db", ":memory:")
            assert done.exit_code == 2, done.describe()
            assert "Traceback" not in done.stderr
            assert expected in done.stderr, done.stderr
        assert not (tmp_path / "harness_out").exists()
        assert "E_CFG_PARSE" in done.stderr


def test_a_trial_lost_to_infrastructure_is_exit_3_not_a_failing_case(tmp_path: Path) -> None:
    """An executable file the kernel cannot run (no #!, not a binary) passes the load check
    and fails at exec: the trial is lost (infra_error), which is not the agent failing."""
    with started(tmp_path) as harness:
        suite = suite_with_agent(harness, "not a program\n", 0o755)
        for args, reason in ((("run", "--max-retries", "0"), None), (("ci",), "E_INFRASTRUCTURE")):
            done = command(harness, args[0], str(suite), *args[1:], "--db", ":memory:")
            assert done.exit_code == 3, done.describe()
            assert done.run_json()["exit_code"] == 3
            assert done.run_json()["reason_code"] == "trials_lost"
            if reason:
                assert reason in done.stderr, done.stderr
            assert os.path.isdir(done.dir)
