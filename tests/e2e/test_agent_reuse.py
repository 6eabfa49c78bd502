"""Persistent agents (protocol 2, multi_task): one process serves a worker's cases one after
another, results are the same as with a process per case, and anything going wrong discards it.

Real agents are spawned through the Python API; nothing of the runner is replaced.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

import harness
from harness.results import AttemptResult
from tests.support.cli_runs import SCRIPT_AGENT, SUITES, surviving_processes
from tests.support.files import write_suite

ALL_SUITES = sorted(path.parent for path in SUITES.glob("*/suite.yaml"))


@pytest.fixture(autouse=True)
def venv_first_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = os.path.dirname(sys.executable)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")


@pytest.fixture
def multi_task(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The repo's agents speak protocol 2 when AGENT_MULTI_TASK=1; every one is marked."""
    marker = f"reuse-{uuid.uuid4().hex}"
    monkeypatch.setenv("AGENT_MULTI_TASK", "1")
    monkeypatch.setenv("SCRIPT_AGENT_MARKER", marker)
    yield marker
    assert surviving_processes(marker, settle_seconds=1) == []


def _run(suite: Path, out: Path, reuse: str, workers: int = 2) -> list[AttemptResult]:
    options = harness.RunOptions(suite=suite, output_dir=out, workers=workers, agent_reuse=reuse)
    return harness.run_sync(options).results


def _verdicts(results: list[AttemptResult]) -> dict[str, tuple[str, list[str]]]:
    return {r.case_id: (r.status, [f.type for f in r.failures]) for r in results}


@pytest.mark.parametrize("suite", ALL_SUITES, ids=lambda path: path.name)
def test_every_suite_reads_the_same_with_and_without_reuse(
    suite: Path, tmp_path: Path, multi_task: str
) -> None:
    spawned = _verdicts(_run(suite, tmp_path / "never", "never"))
    kept = _verdicts(_run(suite, tmp_path / "kept", "per_worker"))
    assert kept == spawned
    assert spawned  # the suite ran


def _pid_suite(root: Path, cases: list[tuple[str, list[dict[str, Any]]]], **extra: Any) -> Path:
    settings = {
        "suite_name": "pids",
        "agent_command": [sys.executable, str(SCRIPT_AGENT)],
        "kill_grace_ms": 200,
        "budgets": {"max_wall_ms": 5000, "max_idle_ms": 5000},
        **extra,
    }
    return write_suite(root, settings, [{"id": i, "input": {"steps": s}} for i, s in cases])


def _pids(results: list[AttemptResult], tmp: Path) -> dict[str, int | None]:
    """Each case's agent pid, read back from its final output in the trace."""
    import json

    pids: dict[str, int | None] = {r.case_id: None for r in results}
    for path in tmp.glob("**/run.jsonl"):
        for line in path.read_text().splitlines():
            event = json.loads(line)
            if event.get("type") == "final_output" and isinstance(event.get("output"), dict):
                pids[event["case_id"]] = event["output"].get("pid")
    return pids


PID: list[dict[str, Any]] = [{"final_pid": True}]


def test_one_process_serves_a_worker_s_cases(tmp_path: Path, multi_task: str) -> None:
    suite = _pid_suite(tmp_path / "s", [(f"c{i}", PID) for i in range(5)])
    kept = _run(suite, tmp_path / "kept", "per_worker", workers=1)
    never = _run(suite, tmp_path / "never", "never", workers=1)
    assert [r.status for r in kept + never] == ["pass"] * 10
    assert len(set(_pids(kept, tmp_path / "kept").values())) == 1
    assert len(set(_pids(never, tmp_path / "never").values())) == 5


def test_errors_and_budget_kills_discard_the_process(tmp_path: Path, multi_task: str) -> None:
    cases: list[tuple[str, list[dict[str, Any]]]] = [
        ("a1", PID),
        ("a2", PID),
        ("b_protocol", [{"print": "not json"}]),
        ("c1", PID),
        ("d_budget", [{"sleep": 3}]),
        ("e1", PID),
        ("f_task_error", [{"task_error": "nope"}]),
        ("g1", PID),
        ("g2", PID),
    ]
    suite = _pid_suite(tmp_path / "s", cases, budgets={"max_wall_ms": 500})
    results = _run(suite, tmp_path / "out", "per_worker", workers=1)
    statuses = {r.case_id: r.status for r in results}
    assert statuses["b_protocol"] == "error" and statuses["f_task_error"] == "error"
    assert statuses["d_budget"] == "fail"
    pids = _pids(results, tmp_path / "out")
    assert pids["a1"] == pids["a2"]
    assert pids["g1"] == pids["g2"]
    assert len({pids["a1"], pids["c1"], pids["e1"], pids["g1"]}) == 4


def test_a_process_that_exits_between_tasks_is_replaced(tmp_path: Path, multi_task: str) -> None:
    """It said multi_task, answered, then exited: the next case is no failure of its own."""
    cases: list[tuple[str, list[dict[str, Any]]]] = [
        ("a", [{"final_pid": True}, {"exit": 0}]),
        ("b", PID),
        ("c", PID),
    ]
    suite = _pid_suite(tmp_path / "s", cases)
    results = _run(suite, tmp_path / "out", "per_worker", workers=1)
    assert [r.status for r in results] == ["pass"] * 3
    pids = _pids(results, tmp_path / "out")
    assert pids["a"] != pids["b"] == pids["c"]


def test_hello_after_the_first_line_is_a_protocol_error(tmp_path: Path, multi_task: str) -> None:
    hello = {"type": "hello", "protocol": 2, "capabilities": ["multi_task"]}
    suite = _pid_suite(tmp_path / "s", [("late", [{"log": "hi"}, {"raw": hello}])])
    (result,) = _run(suite, tmp_path / "out", "per_worker")
    assert result.status == "error"
    assert result.failures[0].type == "protocol_error"
    assert "hello is only valid as the agent's first line" in result.failures[0].message


def test_old_agents_see_nothing_new(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No hello: a process per case, each closed after final_output, the task_start unchanged."""
    monkeypatch.delenv("AGENT_MULTI_TASK", raising=False)
    cases = [("a", [{"final_from_task": True}]), ("b", [{"final_from_task": True}])]
    suite = _pid_suite(tmp_path / "s", cases)
    results = _run(suite, tmp_path / "out", "per_worker", workers=1)
    assert [r.status for r in results] == ["pass", "pass"]
    assert all(r.exit_code == 0 for r in results)  # each process exited when stdin closed
    import json

    tasks = [
        json.loads(line)["output"]["task"]
        for path in (tmp_path / "out").glob("**/run.jsonl")
        for line in path.read_text().splitlines()
        if json.loads(line).get("type") == "final_output"
    ]
    assert sorted(task["task_id"] for task in tasks) == ["a", "b"]
    assert all(set(task) == {"type", "task_id", "input"} for task in tasks)


def test_agent_reuse_in_the_suite_file(tmp_path: Path, multi_task: str) -> None:
    suite = _pid_suite(tmp_path / "s", [("a", PID), ("b", PID)], agent_reuse="never")
    options = harness.RunOptions(suite=suite, output_dir=tmp_path / "out", workers=1)
    results = harness.run_sync(options).results
    assert len(set(_pids(results, tmp_path / "out").values())) == 2


SERVE_AGENT = """\
import os
from harness.sdk.serve import serve

def handle(task):
    reply = task.call("lookup", {"id": task.input["id"]})
    if task.input.get("boom"):
        raise ValueError("boom")
    return {"value": reply.result, "pid": os.getpid()}

serve(handle)
"""


def test_sdk_serve_keeps_one_process_with_an_unchanged_handler(
    tmp_path: Path, multi_task: str
) -> None:
    root = tmp_path / "s"
    cases = [
        {"id": f"c{i}", "input": {"id": i}, "cassette": f"cassettes/c{i}.jsonl"} for i in range(4)
    ]
    cases.append(
        {"id": "d_boom", "input": {"id": 9, "boom": True}, "cassette": "cassettes/c9.jsonl"}
    )
    cassettes: dict[str, Sequence[dict[str, Any]]] = {
        f"cassettes/c{i}.jsonl": [
            {"tool": "lookup", "args": {"id": i}, "ok": True, "result": i * 10, "error": None}
        ]
        for i in [*range(4), 9]
    }
    settings = {
        "suite_name": "serve",
        "agent_command": [sys.executable, "agent.py"],
        "agent_cwd": ".",
        "tool_registry": ["lookup"],
    }
    write_suite(root, settings, cases, cassettes)
    (root / "agent.py").write_text(SERVE_AGENT)
    for reuse, distinct in (("per_worker", 1), ("never", 4)):
        out = tmp_path / reuse
        results = {r.case_id: r for r in _run(root, out, reuse, workers=1)}
        assert [results[f"c{i}"].status for i in range(4)] == ["pass"] * 4
        assert results["d_boom"].failures[0].type == "task_error"
        pids = _pids(list(results.values()), out)
        assert len({pids[f"c{i}"] for i in range(4)}) == distinct
