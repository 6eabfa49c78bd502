"""A named pipe (or any file that is not a regular one) where harness reads a file is one line
and exit 2, never a hang with no output: opening a FIFO for reading blocks until someone
writes to it. See harness/config/files.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.cassette.format import read_cassette
from harness.errors import CassetteError
from tests.support.cli_runs import Harness, Run, script_agent_command, started
from tests.support.files import write_suite

# Far below what a hang would take: the run refuses the pipe before any agent starts.
SECONDS = 30


def fifo_suite(harness: Harness, mode: str) -> Path:
    suite = write_suite(
        harness.cwd / "suite",
        {
            "suite_name": "fifo",
            "agent_command": script_agent_command(),
            "mode": mode,
            "tool_registry": ["lookup"],
            "tools": {"lookup": {"backend": "python", "function": "tools:lookup"}},
        },
        [
            {
                "id": "c",
                "cassette": "cassettes/c.jsonl",
                "input": {"steps": [{"call": "lookup", "args": {"k": 1}}, {"final": {}}]},
            }
        ],
    )
    (suite / "tools.py").write_text("def lookup(k):\n    return {'k': k}\n", encoding="utf-8")
    (suite / "cassettes").mkdir()
    os.mkfifo(suite / "cassettes" / "c.jsonl")
    return suite


def one_line(run: Run, *expected: str) -> None:
    assert run.exit_code == 2, run.describe()
    assert "Traceback" not in run.stderr, run.describe()
    [line] = run.stderr.strip().splitlines()
    assert all(part in line for part in expected), line


@pytest.mark.parametrize("mode", ["replay", "record", "auto"])
def test_a_fifo_cassette_is_refused_at_load(tmp_path: Path, mode: str) -> None:
    with started(tmp_path) as harness:
        run = harness.run(fifo_suite(harness, mode), timeout_seconds=SECONDS)
        one_line(run, "c.yaml:", "cassette", "named pipe (FIFO), not a regular file")


def test_fifo_case_file_and_baseline_are_refused(tmp_path: Path) -> None:
    with started(tmp_path) as harness:
        # Record mode: a missing cassette is no error there, so the baseline is what is named.
        suite = fifo_suite(harness, "record")
        (suite / "cassettes" / "c.jsonl").unlink()
        baseline = tmp_path / "baseline.json"
        os.mkfifo(baseline)
        run = harness.run(suite, "--baseline", str(baseline), timeout_seconds=SECONDS)
        one_line(run, "baseline.json", "named pipe")
        os.mkfifo(suite / "cases" / "d.yaml")
        one_line(harness.run(suite, timeout_seconds=SECONDS), "d.yaml", "named pipe")


def test_a_cassette_turned_into_a_fifo_after_loading_is_an_error_not_a_hang(
    tmp_path: Path,
) -> None:
    os.mkfifo(tmp_path / "c.jsonl")
    with pytest.raises(CassetteError, match=r"named pipe \(FIFO\), not a regular file"):
        read_cassette(tmp_path / "c.jsonl")
