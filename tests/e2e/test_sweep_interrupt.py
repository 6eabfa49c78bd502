"""Stopping a sweep early: Ctrl+C once (130, finished results kept, no agent left), Ctrl+C
twice (agents killed at once), --shutdown-timeout, and --fail-fast."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli_runs import SCRIPT_AGENT, Harness, marked_processes, surviving_processes
from tests.support.files import read_jsonl, write_suite
from tests.support.sweep_suites import sweep_suite


def wait_for(condition: Callable[[], object], timeout_seconds: float, what: str) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def result_lines(harness: Harness) -> list[bytes]:
    files = list(harness.out.glob("*/*/results.jsonl"))
    return [line for line in files[0].read_bytes().split(b"\n") if line] if files else []


def agents_running(harness: Harness, process: subprocess.Popen[str], count: int) -> bool:
    return len(marked_processes(harness.marker, exclude=[process.pid])) >= count


def finish(process: subprocess.Popen[str], timeout_seconds: float) -> tuple[str, str]:
    try:
        return process.communicate(timeout=timeout_seconds)
    except BaseException:  # never leave the run behind
        process.kill()
        process.communicate()
        raise


def run_dir(harness: Harness) -> Path:
    (found,) = harness.out.glob("*/*/run.json")
    return found.parent


def test_ctrl_c_during_a_two_model_three_trial_sweep(harness: Harness, tmp_path: Path) -> None:
    suite = sweep_suite(
        tmp_path,
        {"a_fast": {"m1": "PPP", "m2": "PPP"}, "b_slow": {"m1": "SSS", "m2": "SSS"}},
        models=["m1", "m2"],
        runs=3,
    )
    process = harness.popen(suite, "--workers", "2")
    try:
        # Trial-major order: both models' fast trial 1 finish, then two sleepers hold the pool.
        wait_for(lambda: len(result_lines(harness)) >= 2, 30, "the fast attempts' results")
        wait_for(lambda: agents_running(harness, process, 2), 30, "two sleeping agents")
    except BaseException:
        process.kill()
        process.communicate()
        raise
    process.send_signal(signal.SIGINT)
    stdout, stderr = finish(process, 20)

    assert process.returncode == 130, f"{stdout}\n{stderr}"
    folder = run_dir(harness)
    results = read_jsonl(folder / "results.jsonl")  # every line is whole JSON
    assert {r["attempt_id"] for r in results} >= {"a_fast/m1/1", "a_fast/m2/1"}
    assert all(r["outcome"] == "passed" for r in results), results
    run_info = json.loads((folder / "run.json").read_text())
    assert (run_info["status"], run_info["exit_code"]) == ("interrupted", 130)
    completeness = json.loads((folder / "summary.json").read_text())["run"]["completeness"]
    assert not completeness["complete"]
    assert completeness["missing"] == 12 - len(results)
    assert surviving_processes(harness.marker) == []


def _stubborn_suite(root: Path, marker: str) -> Path:
    """Agents that ignore SIGTERM and sleep, with a grace period far longer than any test."""
    steps = [{"ignore_sigterm": True}, {"log": "sleeping"}, {"sleep": 60}, {"final": {}}]
    return write_suite(
        root,
        {
            "suite_name": "stubborn",
            "agent_command": [sys.executable, str(SCRIPT_AGENT), "--marker", marker],
            "kill_grace_ms": 60000,
            "budgets": {"max_wall_ms": 120000, "max_idle_ms": 120000},
        },
        [{"id": f"s{i}", "input": {"steps": steps}} for i in range(2)],
    )


def _interrupt_stubborn(harness: Harness, suite: Path, *args: str) -> subprocess.Popen[str]:
    process = harness.popen(suite, "--workers", "2", "--runs", "2", *args)
    try:
        wait_for(lambda: agents_running(harness, process, 2), 30, "two stubborn agents")
        time.sleep(0.3)  # let them install their SIGTERM handler
    except BaseException:
        process.kill()
        process.communicate()
        raise
    process.send_signal(signal.SIGINT)
    return process


def test_second_ctrl_c_kills_at_once(harness: Harness, tmp_path: Path) -> None:
    suite = _stubborn_suite(tmp_path / "stubborn", harness.marker)
    process = _interrupt_stubborn(harness, suite, "--shutdown-timeout", "60")
    time.sleep(1.0)
    assert process.poll() is None, "the first Ctrl+C waits for the agents' grace period"
    process.send_signal(signal.SIGINT)
    stdout, stderr = finish(process, 20)  # not the 60 s grace period

    assert process.returncode == 130, f"{stdout}\n{stderr}"
    assert surviving_processes(harness.marker) == []


def test_shutdown_timeout_bounds_the_first_ctrl_c(harness: Harness, tmp_path: Path) -> None:
    suite = _stubborn_suite(tmp_path / "stubborn", harness.marker)
    process = _interrupt_stubborn(harness, suite, "--shutdown-timeout", "0.5")
    stdout, stderr = finish(process, 20)  # not the 60 s grace period

    assert process.returncode == 130, f"{stdout}\n{stderr}"
    assert surviving_processes(harness.marker) == []


def test_fail_fast_stops_at_the_first_failure(harness: Harness, tmp_path: Path) -> None:
    suite = sweep_suite(
        tmp_path,
        {"a_fails": {"m": "F"}, "b_slow": {"m": "S"}, "c_slow": {"m": "S"}, "d": {"m": "P"}},
        models=["m"],
    )
    process = harness.popen(suite, "--workers", "2", "--fail-fast")
    stdout, stderr = finish(process, 20)

    assert process.returncode == 1, f"{stdout}\n{stderr}"
    folder = run_dir(harness)
    results: list[dict[str, Any]] = read_jsonl(folder / "results.jsonl")
    assert [r["attempt_id"] for r in results] == ["a_fails/m/1"]
    run_info = json.loads((folder / "run.json").read_text())
    assert (run_info["status"], run_info["reason_code"]) == ("stopped", "fail_fast")
    completeness = json.loads((folder / "summary.json").read_text())["run"]["completeness"]
    assert completeness["missing"] == 3
    assert "1 of 4 planned attempts finished; 3 without a result" in stdout
    assert surviving_processes(harness.marker) == []
