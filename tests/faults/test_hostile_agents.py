"""Agents that misbehave on purpose: each attempt ends as a precise error or budget failure
within its budget, the run goes on, the harness's memory stays bounded and no process survives.

One `harness run` runs every fault side by side (real processes, nothing faked); the harness
process's peak RSS is sampled from outside with psutil.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.cli_runs import Harness, started, surviving_processes
from tests.support.files import read_jsonl
from tests.support.hostile_suites import MB, RSS_BOUND, WALL_MS, hostile_suite
from tests.support.watch import run_watched

# Time allowed past a budget: the grace period, teardown and a loaded CI machine.
SLACK_MS = 4000

# fault -> (case input, first failure type or None for a pass, budget field that must trip)
FAULTS: dict[str, tuple[dict[str, Any], str | None, str | None]] = {
    "exit_after_start": ({}, "agent_exited", None),
    "exit_mid_line": ({}, "protocol_error", None),
    "exit_after_call": ({}, "agent_exited", None),
    "killed_after_result": ({}, "agent_exited", None),
    "garbage": ({}, "protocol_error", None),
    "invalid_utf8": ({}, "protocol_error", None),
    "json_bomb": ({"depth": 100_000}, "protocol_error", None),
    "huge_line": ({"mb": 32}, "protocol_error", None),
    "stderr_flood": ({"mb": 16}, None, None),
    "stdout_log_flood": ({}, "budget_exceeded", "max_wall_ms"),
    "stop_reading": ({}, "budget_exceeded", "max_idle_ms"),
    "ignore_sigterm": ({}, "budget_exceeded", "max_idle_ms"),
    "grandchildren": ({"n": 3}, "agent_exited", None),
    "setsid_child": ({}, "budget_exceeded", "max_idle_ms"),
    "close_stdout": ({}, "agent_exited", None),
    "write_after_final": ({}, None, None),
    "tool_calls": ({"n": 100_000}, "budget_exceeded", "max_tool_calls"),
    # Graded: required_fields parses a string output as JSON.
    "string_bomb": ({"depth": 100_000}, "assertion_failed", None),
}


def test_each_misbehaving_agent_ends_precisely_within_budget(tmp_path: Path) -> None:
    with started(tmp_path) as harness:
        check_hostile_run(harness)


def check_hostile_run(harness: Harness) -> None:
    suite = hostile_suite(harness.cwd / "suite", harness.marker, FAULTS)
    watched = run_watched(
        harness.argv(suite, "-j", str(len(FAULTS)), "--max-retries", "0", "-q"),
        cwd=str(harness.cwd),
        env=harness.env,
    )
    described = f"exit {watched.exit_code}\n{watched.stdout}\n{watched.stderr}"
    assert watched.exit_code == 1, described
    assert "Traceback" not in watched.stderr, described
    [run_dir] = harness.run_dirs()
    results = {row["case_id"]: row for row in read_jsonl(run_dir / "results.jsonl")}
    assert set(results) == set(FAULTS), described
    for name, (_, kind, field) in FAULTS.items():
        result = results[name]
        failures = result.get("failures", [])
        if kind is None:
            assert result["status"] == "pass", (name, failures)
            continue
        assert failures, (name, result)
        first = failures[0]
        assert first["type"] == kind, (name, failures)
        if field is not None:
            assert field in first["message"], (name, first)
        assert result["wall_ms"] <= WALL_MS + SLACK_MS, (name, result["wall_ms"])
    # The flood was kept whole on disk, not in memory.
    flood = run_dir / "attempts" / "stderr_flood" / "stderr.log"
    assert flood.stat().st_size == 16 * MB
    print(f"harness peak RSS {watched.peak_rss / MB:.0f} MB, {watched.seconds:.1f} s")
    assert watched.peak_rss < RSS_BOUND, f"harness peak RSS {watched.peak_rss / MB:.0f} MB"
    assert surviving_processes(harness.marker) == []


def test_agent_that_exits_before_reading_or_stops_reading_without_a_wall_budget(
    tmp_path: Path,
) -> None:
    """No max_wall_ms: an agent that stops reading its stdin is still ended by max_idle_ms (a
    blocked write to it used to wait for ever), and one that exits before reading task_start is
    an agent_exited error."""
    with started(tmp_path) as harness:
        suite = hostile_suite(
            harness.cwd / "suite",
            harness.marker,
            {"stop_reading": ({}, None, None), "tool_calls": ({"n": 3}, None, None)},
        )
        settings = (suite / "suite.yaml").read_text()
        settings = settings.replace(f"  max_wall_ms: {WALL_MS}\n", "")
        (suite / "suite.yaml").write_text(settings)
        run = harness.run(suite, "--max-retries", "0", timeout_seconds=60)
        results = run.results_by_case()
        [failure] = results["stop_reading"]["failures"]
        assert failure["type"] == "budget_exceeded", failure
        assert "max_idle_ms" in failure["message"], failure
        assert results["tool_calls"]["status"] == "pass", results["tool_calls"]

        harness.env["HOSTILE_FAULT"] = "exit_at_start"
        run = harness.run(suite, "--case", "tool_calls", "--max-retries", "0")
        [failure] = run.results_by_case()["tool_calls"]["failures"]
        assert failure["type"] == "agent_exited", failure
        assert "exited with status 7" in failure["message"], failure
        assert surviving_processes(harness.marker) == []
