"""SIGKILL of `harness run` at random points loses nothing: every line of results.jsonl and
run.jsonl on disk is whole JSON, every cassette being recorded is the old file or the new one
whole, the history database passes `PRAGMA integrity_check`, and `harness report RUN_DIR`
rebuilds the reports from what is on disk (or says in one line why it cannot)."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.cli_runs import Harness, started, surviving_processes
from tests.support.files import assert_whole_lines, interaction, write_suite
from tests.support.record_suites import (
    call,
    case,
    entries,
    live_suite,
    write_legacy_cassette,
)

CASES = 24
KILLS = 20
KILLS_SLOW = 100


def replay_suite(root: Path, seed: int) -> Path:
    rng = random.Random(seed)
    cases = [
        {
            "id": f"c{i:02d}",
            "cassette": "cassettes/lookup.jsonl",
            "input": {
                "steps": [
                    {"call": "lookup", "args": {"id": 1}},
                    {"log": "x" * rng.randrange(1, 5000)},
                    {"sleep": rng.uniform(0, 0.15)},
                    {"final": {"i": i}},
                ]
            },
        }
        for i in range(CASES)
    ]
    return write_suite(
        root,
        {
            "suite_name": "kill",
            "agent_command": ["python3", str(Path(__file__).parents[1] / "agents/script_agent.py")],
            "tool_registry": ["lookup"],
        },
        cases,
        {"cassettes/lookup.jsonl": [interaction("lookup", {"id": 1}, {"name": "Ada"})]},
    )


def check_rebuild(harness: Harness, run_dir: Path) -> None:
    report = subprocess.run(
        [sys.executable, "-m", "harness", "report", str(run_dir)],
        cwd=harness.cwd,
        env=harness.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in report.stderr, report.stderr
    if report.returncode != 0:
        # Killed before the run directory was usable: one line saying so, never a crash.
        assert report.returncode in (2, 3), report.stderr
        assert len(report.stderr.strip().splitlines()) == 1, report.stderr


def check_history(cwd: Path) -> None:
    db = cwd / ".harness" / "history.db"
    if db.exists():
        with sqlite3.connect(db) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def kill_replays(tmp_path: Path, kills: int, rebuilds: int) -> None:
    rng = random.Random(20261123)
    with started(tmp_path) as harness:
        suite = replay_suite(harness.cwd / "suite", seed=1)
        results = 0
        for kill in range(kills):
            before = set(harness.run_dirs())
            process = harness.popen(suite, "-j", "4", "-q", "--max-retries", "0")
            time.sleep(rng.uniform(0.2, 1.8))
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=30)
            new = set(harness.run_dirs()) - before
            for run_dir in new:
                results += assert_whole_lines(run_dir / "results.jsonl")
                assert_whole_lines(run_dir / "run.jsonl")
                if kill % (kills // rebuilds) == 0:  # a `harness report` costs a second
                    check_rebuild(harness, run_dir)
            check_history(harness.cwd)
        # Orphaned agents see their stdin close and exit; none may be left over.
        assert surviving_processes(harness.marker, settle_seconds=5) == []
        assert results > 0, "no kill landed after an attempt finished: widen the delays"


def test_sigkill_during_replay_loses_nothing(tmp_path: Path) -> None:
    kill_replays(tmp_path, KILLS, rebuilds=5)


@pytest.mark.slow
@pytest.mark.timeout(900)  # 100 runs, each killed after up to 1.8 s, and a report
def test_sigkill_during_replay_loses_nothing_soak(tmp_path: Path) -> None:
    kill_replays(tmp_path, KILLS_SLOW, rebuilds=KILLS_SLOW)


def kill_recordings(tmp_path: Path, kills: int) -> None:
    rng = random.Random(6)
    n_cases = 6
    with started(tmp_path) as harness:
        cases = [
            case(f"c{i}", [call("lookup", key=f"k{i}"), {"sleep": 0.1}]) for i in range(n_cases)
        ]
        suite = live_suite(
            harness.cwd / "rec",
            ["lookup"],
            {"lookup": {"backend": "python", "function": "tools:lookup"}},
            cases,
        )
        outcomes = {"old": 0, "new": 0}
        killed: list[int] = []
        for _ in range(kills):
            old = {
                i: write_legacy_cassette(suite / "cassettes" / f"c{i}.jsonl", "old", {}, i)
                for i in range(n_cases)
            }
            process = harness.popen(suite, "--mode", "record", "-j", "2", "-q")
            time.sleep(rng.uniform(0.3, 2.5))
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=30)
            killed.append(process.pid)
            for i, data in old.items():
                path = suite / "cassettes" / f"c{i}.jsonl"
                if path.read_bytes() == data:
                    outcomes["old"] += 1
                    continue
                assert [e["args"] for e in entries(path)] == [{"key": f"k{i}"}], path
                outcomes["new"] += 1
            # SIGKILL between creating a temp file and renaming it leaves that file: nothing
            # can delete it then. It names the killed writer, so a later run removes it (a run
            # killed before it got that far, on a loaded machine, leaves its predecessors' too).
            leftovers = [p.name for p in (suite / "cassettes").iterdir() if p.suffix != ".jsonl"]
            assert all(any(f".{pid}." in name for pid in killed) for name in leftovers), leftovers
        assert surviving_processes(harness.marker, settle_seconds=5) == []
        assert outcomes["old"] and outcomes["new"], outcomes
        finished = harness.run(suite, "--mode", "record", "-q")
        assert finished.exit_code == 0, finished.describe()
        leftovers = [p.name for p in (suite / "cassettes").iterdir() if p.suffix != ".jsonl"]
        assert leftovers == [], leftovers


def test_sigkill_during_record_keeps_each_cassette_whole(tmp_path: Path) -> None:
    kill_recordings(tmp_path, 8)


@pytest.mark.slow
@pytest.mark.timeout(900)  # 100 runs, each killed after up to 1.8 s, and a report
def test_sigkill_during_record_keeps_each_cassette_whole_soak(tmp_path: Path) -> None:
    kill_recordings(tmp_path, 50)
