"""`--engine ray` on a local Ray cluster started by this module: the same results as the local
pool, every result exactly once even when a worker dies mid-shard, and the suite folder shipped
as the job's working_dir when the CLI starts the cluster itself.

Skipped when Ray is not installed (`pip install -e '.[ray]'`; `make install` installs it).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

import harness
from harness.errors import UsageError
from harness.execute.ray_engine import shard_size, shared_root
from harness.results import AttemptResult
from tests.support.cli_runs import REPO, SCRIPT_AGENT, SUITES
from tests.support.files import read_jsonl, write_suite

ray: Any = pytest.importorskip("ray", reason="Ray is not installed: pip install -e '.[ray]'")

BIN = os.path.dirname(sys.executable)


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    """One local two-CPU cluster for the module; its workers find the venv's python3 first."""
    old_path = os.environ.get("PATH", "")
    os.environ["PATH"] = f"{BIN}{os.pathsep}{old_path}"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    try:
        yield
    finally:
        ray.shutdown()
        os.environ["PATH"] = old_path


def _verdicts(results: list[AttemptResult]) -> dict[str, tuple[str, list[str]]]:
    return {r.case_id: (r.status, [f.type for f in r.failures]) for r in results}


@pytest.mark.parametrize("suite", ["demo", "failures"])
def test_ray_reads_the_same_as_the_local_pool(cluster: None, suite: str, tmp_path: Path) -> None:
    local = harness.run_sync(harness.RunOptions(suite=SUITES / suite, output_dir=tmp_path / "l"))
    remote = harness.run_sync(
        harness.RunOptions(suite=SUITES / suite, output_dir=tmp_path / "r", engine="ray")
    )
    assert _verdicts(remote.results) == _verdicts(local.results)
    assert remote.exit_code == local.exit_code
    # The driver wrote the same run directory: one result line per attempt, the reports.
    assert remote.run_dir is not None
    lines = read_jsonl(remote.run_dir / "results.jsonl")
    assert sorted(line["case_id"] for line in lines) == sorted(_verdicts(local.results))
    for name in ("run.json", "summary.json", "junit.xml", "run.jsonl"):
        assert (remote.run_dir / name).exists(), name


def _killer(name: str, killed: list[int], stop: threading.Event) -> None:
    """SIGKILL the Ray worker that runs the first agent named `name`, once."""
    while not stop.is_set() and not killed:
        for process in psutil.process_iter(["cmdline"]):
            try:
                if any(name in part for part in process.info["cmdline"] or []):
                    parent = process.parent()
                    if parent is not None and parent.pid != os.getpid():
                        parent.send_signal(signal.SIGKILL)
                        killed.append(parent.pid)
                        return
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        time.sleep(0.02)


def test_a_worker_killed_mid_shard_still_yields_each_result_once(
    cluster: None, tmp_path: Path
) -> None:
    name = f"agent_{uuid.uuid4().hex}.py"
    root = tmp_path / "s"
    cases = [
        {"id": f"c{i:02d}", "input": {"steps": [{"sleep": 0.1}, {"final": {"i": i}}]}}
        for i in range(40)
    ]
    write_suite(root, {"suite_name": "kill", "agent_command": ["python3", name]}, cases)
    shutil.copy(SCRIPT_AGENT, root / name)
    killed: list[int] = []
    stop = threading.Event()
    watcher = threading.Thread(target=_killer, args=(name, killed, stop), daemon=True)
    watcher.start()
    try:
        report = harness.run_sync(
            harness.RunOptions(suite=root, output_dir=tmp_path / "out", engine="ray", workers=2)
        )
    finally:
        stop.set()
        watcher.join()
        for process in psutil.process_iter(["cmdline"]):  # agents orphaned by the kill
            if any(name in part for part in process.info["cmdline"] or []):
                process.kill()
    assert killed, "no agent was seen running"
    assert report.run_dir is not None
    lines = read_jsonl(report.run_dir / "results.jsonl")
    assert sorted(line["case_id"] for line in lines) == [f"c{i:02d}" for i in range(40)]
    assert all(line["status"] == "pass" for line in lines)


def test_the_cli_ships_the_suite_folder_to_its_own_cluster(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    completed = subprocess.run(
        [sys.executable, "-m", "harness", "run", str(SUITES / "demo"), "--engine", "ray", "-q"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    (run_dir,) = (tmp_path / "harness_out" / "demo").iterdir()
    results = read_jsonl(run_dir / "results.jsonl")
    assert len(results) == 6 and all(r["status"] == "pass" for r in results)
    # Paths in results are the driver's, not the worker's copy of the folder.
    assert all(str(REPO) in r["cassette_path"] for r in results if r.get("cassette_path"))


def test_shards_hold_16_to_32_attempts() -> None:
    assert shard_size(6, 2) == 16
    assert shard_size(200, 2) == 32
    assert shard_size(200, 8) == 25


def test_a_suite_spread_over_the_filesystem_is_a_usage_error(tmp_path: Path) -> None:
    assert shared_root(tmp_path / "s", [tmp_path / "s" / "a", tmp_path / "c"]) == tmp_path
    with pytest.raises(UsageError, match="one project folder"):
        shared_root(tmp_path, [Path("/usr/bin/env")])


def test_fail_fast_stops_the_shards(cluster: None, tmp_path: Path) -> None:
    cases = [
        {"id": f"c{i:02d}", "input": {"steps": [{"sleep": 0.05}, {"task_error": "no"}]}}
        for i in range(64)
    ]
    root = write_suite(
        tmp_path / "s", {"suite_name": "ff", "agent_command": ["python3", str(SCRIPT_AGENT)]}, cases
    )
    report = harness.run_sync(
        harness.RunOptions(
            suite=root, output_dir=tmp_path / "out", engine="ray", workers=1, fail_fast=True
        )
    )
    assert report.stop_reason == "fail_fast"
    assert report.status == "stopped"
    assert 0 < len(report.results) < 64
    ids = [r.attempt_id for r in report.results]
    assert len(ids) == len(set(ids))


def test_a_local_run_never_imports_ray(tmp_path: Path) -> None:
    code = (
        "import sys, pathlib, harness\n"
        f"harness.run_sync(harness.RunOptions(suite={str(SUITES / 'demo')!r}, "
        f"output_dir=pathlib.Path({str(tmp_path)!r})))\n"
        "assert 'ray' not in sys.modules, 'ray was imported'\n"
    )
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    completed = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
