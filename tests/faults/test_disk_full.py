"""A full disk mid-run: `harness run` exits 3 with one clear line, and what it wrote before is
kept whole. The output directory is a small tmpfs when this process may mount one (root with
CAP_SYS_ADMIN), else the harness runs under RLIMIT_FSIZE, which fails writes the same way."""

from __future__ import annotations

import contextlib
import resource
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli_runs import Harness, started
from tests.support.files import assert_whole_lines, interaction, write_suite

SCRIPT_AGENT = Path(__file__).resolve().parents[1] / "agents" / "script_agent.py"
DISK_BYTES = 256 * 1024


@contextlib.contextmanager
def small_disk(path: Path, wanted: bool) -> Iterator[bool]:
    """Mount a DISK_BYTES tmpfs at `path` if `wanted`; yields whether it is mounted."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = wanted and (
        subprocess.run(
            [
                "mount",
                "-t",
                "tmpfs",
                "-o",
                f"size={DISK_BYTES}",
                f"harness-{uuid.uuid4().hex[:8]}",
                str(path),
            ],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], check=False)


def limit_file_size() -> None:
    # Writes past the limit fail with EFBIG instead of killing the process with SIGXFSZ.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (DISK_BYTES // 4, DISK_BYTES // 4))


def noisy_suite(harness: Harness) -> Path:
    steps = [
        {"call": "lookup", "args": {"id": 1}},
        {"stderr": "x" * 1000, "repeat": 20},
        {"log": "y" * 2000},
        {"final": {"ok": True}},
    ]
    return write_suite(
        harness.cwd / "suite",
        {
            "suite_name": "full",
            "agent_command": ["python3", str(SCRIPT_AGENT)],
            "tool_registry": ["lookup"],
        },
        [
            {"id": f"c{i:02d}", "cassette": "cassettes/l.jsonl", "input": {"steps": steps}}
            for i in range(60)
        ],
        {"cassettes/l.jsonl": [interaction("lookup", {"id": 1}, {"name": "Ada"})]},
    )


@pytest.mark.parametrize("limit", ["tmpfs", "rlimit"])
def test_disk_full_exits_3_and_keeps_what_was_written(tmp_path: Path, limit: str) -> None:
    with started(tmp_path) as harness, small_disk(harness.out, limit == "tmpfs") as mounted:
        if limit == "tmpfs" and not mounted:
            pytest.skip("cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)")
        suite = noisy_suite(harness)
        completed = subprocess.run(
            harness.argv(suite, "-j", "2", "-q", "--db", ":memory:"),
            cwd=harness.cwd,
            env=harness.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            preexec_fn=None if mounted else limit_file_size,
        )
        described = f"mounted={mounted}\n{completed.stdout}\n{completed.stderr}"
        assert completed.returncode == 3, described
        assert "Traceback" not in completed.stderr, described
        errors = [line for line in completed.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, described
        expected = "disk full" if mounted else "File too large"
        assert expected in errors[0] and "results written so far are kept" in errors[0], described
        [run_dir] = harness.run_dirs()
        assert assert_whole_lines(run_dir / "results.jsonl") > 0, described
        assert_whole_lines(run_dir / "run.jsonl")


@pytest.mark.parametrize("limit", ["tmpfs", "rlimit"])
def test_a_stderr_log_that_cannot_be_written_ends_the_run_at_once(
    tmp_path: Path, limit: str
) -> None:
    """The agent's stderr.log is what fills the disk (or hits `ulimit -f`): harness keeps
    draining the agent's stderr, stops writing, and ends the run with exit 3 naming the log,
    at once, never blaming the agent with max_idle_ms (set far beyond the test's timeout)."""
    with started(tmp_path) as harness, small_disk(harness.out, limit == "tmpfs") as mounted:
        if limit == "tmpfs" and not mounted:
            pytest.skip("cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)")
        flood = {"stderr": "e" * 1000, "repeat": 2000}  # 2 MB: past both limits
        suite = write_suite(
            harness.cwd / "suite",
            {
                "suite_name": "flood",
                "agent_command": ["python3", str(SCRIPT_AGENT)],
                "budgets": {"max_idle_ms": 600_000},
            },
            [{"id": "flood", "input": {"steps": [flood, {"final": {"ok": True}}]}}],
        )
        completed = subprocess.run(
            harness.argv(suite, "-q", "--db", ":memory:", "--max-retries", "0"),
            cwd=harness.cwd,
            env=harness.env,
            capture_output=True,
            text=True,
            timeout=60,  # a run that waited for max_idle_ms would take ten minutes
            check=False,
            preexec_fn=None if mounted else limit_file_size,
        )
        described = f"mounted={mounted}\n{completed.stdout}\n{completed.stderr}"
        assert completed.returncode == 3, described
        assert "Traceback" not in completed.stderr, described
        [error] = [line for line in completed.stderr.splitlines() if line.startswith("error:")]
        assert "stderr.log" in error, described
        assert ("disk full" if mounted else "File too large") in error, described
        assert "max_idle_ms" not in completed.stdout + completed.stderr, described
