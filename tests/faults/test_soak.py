"""Soak faults, under the `slow` marker (`make faults`, or pytest -m slow): a 1 GB stderr and a
100 MB stdout line, and a 10,000-attempt replay with 64 workers whose memory stays flat and
whose open file descriptors come back to where they started."""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

import pytest

from tests.support.cli_runs import Harness, started, surviving_processes
from tests.support.files import interaction, read_jsonl, write_suite
from tests.support.hostile_suites import MB, RSS_BOUND, WALL_MS, hostile_suite
from tests.support.watch import run_watched

SHELL_AGENT = Path(__file__).resolve().parents[1] / "agents" / "shell_agent.sh"
SCRIPT_AGENT = Path(__file__).resolve().parents[1] / "agents" / "script_agent.py"
ATTEMPTS_CASES, ATTEMPTS_RUNS, WORKERS = 100, 100, 64


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_gigabyte_of_stderr_and_a_100_mb_line(tmp_path: Path) -> None:
    with started(tmp_path) as harness:
        faults = {
            "stderr_flood": ({"mb": 1024}, None, None),
            "huge_line": ({"mb": 100}, "protocol_error", None),
        }
        suite = hostile_suite(harness.cwd / "suite", harness.marker, faults)
        settings = (
            (suite / "suite.yaml")
            .read_text()
            .replace(f"max_wall_ms: {WALL_MS}", "max_wall_ms: 600000")
        )
        (suite / "suite.yaml").write_text(settings)
        watched = run_watched(
            harness.argv(suite, "-j", "2", "--max-retries", "0", "-q"),
            cwd=str(harness.cwd),
            env=harness.env,
            timeout=800,
        )
        assert watched.exit_code == 1, watched.stderr
        [run_dir] = harness.run_dirs()
        results = {row["case_id"]: row for row in read_jsonl(run_dir / "results.jsonl")}
        assert results["stderr_flood"]["status"] == "pass", results["stderr_flood"]
        assert results["huge_line"]["failures"][0]["type"] == "protocol_error"
        flood = run_dir / "attempts" / "stderr_flood" / "stderr.log"
        assert flood.stat().st_size == 1024 * MB
        print(
            f"1 GB stderr + 100 MB line: peak RSS {watched.peak_rss / MB:.0f} MB, "
            f"{watched.seconds:.0f} s"
        )
        assert watched.peak_rss < RSS_BOUND
        assert surviving_processes(harness.marker) == []


def weather_suite(harness: Harness) -> Path:
    cases = [
        {"id": f"c{i:03d}", "input": {"city": f"city{i}"}, "cassette": "cassettes/w.jsonl"}
        for i in range(ATTEMPTS_CASES)
    ]
    cassette = [
        interaction("get_weather", {"city": f"city{i}"}, {"temp_c": i})
        for i in range(ATTEMPTS_CASES)
    ]
    return write_suite(
        harness.cwd / "suite",
        {
            "suite_name": "load",
            "agent_command": ["sh", str(SHELL_AGENT)],
            "tool_registry": ["get_weather"],
        },
        cases,
        {"cassettes/w.jsonl": cassette},
    )


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_ten_thousand_attempts_with_64_workers(tmp_path: Path) -> None:
    with started(tmp_path) as harness:
        suite = weather_suite(harness)
        watched = run_watched(
            harness.argv(
                suite,
                "--runs",
                str(ATTEMPTS_RUNS),
                "-j",
                str(WORKERS),
                "-q",
                "--agent-reuse",
                "never",
            ),
            cwd=str(harness.cwd),
            env=harness.env,
            timeout=1700,
        )
        assert watched.exit_code == 0, watched.stdout[-3000:] + watched.stderr[-3000:]
        [run_dir] = harness.run_dirs()
        results = read_jsonl(run_dir / "results.jsonl")
        assert len(results) == ATTEMPTS_CASES * ATTEMPTS_RUNS
        assert all(row["status"] == "pass" for row in results)
        samples = watched.samples
        quarter = len(samples) // 4
        second_quarter = [rss for _, rss, _ in samples[quarter : 2 * quarter]]
        last_quarter = [rss for _, rss, _ in samples[3 * quarter :]]
        fds = [n for _, _, n in samples]
        early_fds = statistics.median(n for _, _, n in samples[quarter : 2 * quarter])
        late_fds = statistics.median(n for _, _, n in samples[3 * quarter : -quarter // 4 or None])
        line = (
            f"10,000 attempts, {WORKERS} workers: {watched.seconds:.0f} s, peak RSS "
            f"{watched.peak_rss / MB:.0f} MB, RSS median 2nd quarter "
            f"{statistics.median(second_quarter) / MB:.0f} MB, last quarter "
            f"{statistics.median(last_quarter) / MB:.0f} MB; fds first {fds[0]}, "
            f"max {max(fds)}, median 2nd quarter {early_fds}, 4th quarter {late_fds}, "
            f"at the end {fds[-1]}"
        )
        print(line, file=sys.stderr)
        # Flat: the run's second half holds no more than its first (plus allocator noise).
        assert max(last_quarter) < max(second_quarter) + 40 * MB, line
        # Each running attempt holds a few pipe fds, so the count moves with how many run at
        # once; a leak would instead grow by thousands over the 5,000 attempts between the
        # quarters, and would still be there once the pool has drained.
        assert late_fds <= early_fds + WORKERS, line
        drained = min(n for _, _, n in samples[-max(len(samples) // 50, 1) :])
        assert drained <= 40, f"{drained} fds open after the last attempt; {line}"
        assert max(fds) < fds[0] + WORKERS * 8 + 64, line
        assert surviving_processes(harness.marker) == []


MCP_ATTEMPTS = int(os.environ.get("MCP_ATTEMPTS", "1000"))


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_a_thousand_attempts_against_a_live_mcp_tool(tmp_path: Path) -> None:
    server = Path(sys.executable).with_name("mcp-server-time")
    if not server.exists():
        pytest.skip("mcp-server-time is not installed (pip install -e '.[dev]')")
    steps = [
        {
            "call": "convert_time",
            "args": {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"},
        },
        {"final_from_results": True},
    ]
    with started(tmp_path) as harness:
        suite = write_suite(
            harness.cwd / "suite",
            {
                "suite_name": "mcp_load",
                "agent_command": ["python3", str(SCRIPT_AGENT)],
                "tool_registry": ["convert_time"],
                "tools": {"convert_time": {"backend": "mcp", "server": "time"}},
                "mcp_servers": {"time": {"command": [str(server), "--local-timezone", "UTC"]}},
            },
            [{"id": "tokyo", "input": {"steps": steps}}],
        )
        watched = run_watched(
            harness.argv(suite, "--mode", "live", "--runs", str(MCP_ATTEMPTS), "-j", "8", "-q"),
            cwd=str(harness.cwd),
            env=harness.env,
            timeout=1100,
        )
        assert watched.exit_code == 0, watched.stdout[-3000:] + watched.stderr[-3000:]
        [run_dir] = harness.run_dirs()
        results = read_jsonl(run_dir / "results.jsonl")
        assert len(results) == MCP_ATTEMPTS
        assert all(row["status"] == "pass" and row["tool_calls"] == 1 for row in results)
        tokyo = [e for e in read_jsonl(run_dir / "run.jsonl") if e["type"] == "final_output"]
        assert all("T21:00:00+09:00" in str(event["output"]) for event in tokyo)
        samples = watched.samples
        quarter = len(samples) // 4
        second = [rss for _, rss, _ in samples[quarter : 2 * quarter]]
        last = [rss for _, rss, _ in samples[3 * quarter :]]
        fds = [n for _, _, n in samples]
        line = (
            f"{MCP_ATTEMPTS} live MCP attempts: {watched.seconds:.0f} s, peak RSS "
            f"{watched.peak_rss / MB:.0f} MB, fds first {fds[0]}, max {max(fds)}, end {fds[-1]}"
        )
        print(line, file=sys.stderr)
        assert max(last) < max(second) + 40 * MB, line
        assert max(fds) < fds[0] + 200, line  # 8 agents' pipes and the server's, no leak
        assert surviving_processes(harness.marker) == []
