"""agent_reuse: fork, seen from outside: each attempt's agent is a fresh child of a fork server
in a session of its own, started as its interpreter would have started it; what cannot be
forked safely is spawned, and the run says why; a preload that does not import is exit 2; a
server that dies is restarted once, then its agents are spawned.

Real agents (tests/agents/fork_agent.py) under the real runner; nothing is replaced.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

import harness
from harness.results import AttemptResult
from tests.support.cli_runs import REPO, Harness, Run, surviving_processes
from tests.support.files import read_json, write_suite
from tests.support.llm_suites import CLIENTS, llm_suite, standin_script
from tests.support.offline import run_offline, why_not_offline
from tests.support.providers import running_providers

FORK_AGENT = REPO / "tests" / "agents" / "fork_agent.py"
PYTHON39 = Path.home() / ".pyenv" / "versions" / "3.9.18" / "bin" / "python3.9"


@pytest.fixture
def agent_start() -> str:
    """These tests choose agent_reuse themselves (overrides the e2e conftest's variants)."""
    return "fork"


@pytest.fixture(autouse=True)
def venv_first_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = os.path.dirname(sys.executable)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")


def _suite(root: Path, cases: list[dict[str, Any]], **settings: Any) -> Path:
    base = {
        "suite_name": "fork",
        "agent_command": [sys.executable, str(FORK_AGENT)],
        "agent_reuse": "fork",
        "kill_grace_ms": 500,
        **settings,
    }
    return write_suite(root, base, cases)


def _run(suite: Path, out: Path, **options: Any) -> harness.RunReport:
    return harness.run_sync(harness.RunOptions(suite=suite, output_dir=out, **options))


def _outputs(report: harness.RunReport) -> dict[str, dict[str, Any]]:
    """Each case's final output, read back from the run's trace."""
    assert report.run_dir is not None
    found = {}
    for line in (report.run_dir / "run.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event.get("type") == "final_output":
            found[event["case_id"]] = event["output"]
    return found


def _notes(report: harness.RunReport) -> list[str]:
    assert report.run_dir is not None
    notes = read_json(report.run_dir / "run.json").get("notes", [])
    assert isinstance(notes, list)
    return notes


def _statuses(results: list[AttemptResult]) -> dict[str, str]:
    return {result.case_id: result.status for result in results}


def test_each_attempt_is_a_fresh_child_started_as_its_interpreter_would(tmp_path: Path) -> None:
    cases = [{"id": f"c{i}", "input": {}} for i in range(4)]
    report = _run(_suite(tmp_path / "s", cases), tmp_path / "out", workers=2)
    assert _statuses(report.results) == dict.fromkeys(["c0", "c1", "c2", "c3"], "pass")
    assert _notes(report) == []
    seen = list(_outputs(report).values())
    pids = {output["pid"] for output in seen}
    assert len(pids) == 4
    # One server is every child's parent; each child leads its own session and group.
    assert len({output["ppid"] for output in seen}) == 1
    assert all(output["sid"] == output["pid"] == output["pgid"] for output in seen)
    assert seen[0]["ppid"] != os.getpid()
    for output in seen:
        assert output["argv"] == [str(FORK_AGENT)]
        assert output["path0"] == str(FORK_AGENT.parent)
        assert output["name"] == "__main__"
        assert output["cwd"] == os.getcwd()
    # `random` is reseeded in every child: no two draw the same number.
    assert len({output["random"] for output in seen}) == 4


def test_children_may_fork_use_threads_and_spawn_processes(tmp_path: Path) -> None:
    cases = [{"id": "all", "input": {"fork": True, "thread": True, "subprocess": True}}]
    report = _run(_suite(tmp_path / "s", cases), tmp_path / "out")
    (result,) = report.results
    assert result.status == "pass", result.failures
    output = _outputs(report)["all"]
    assert output["forked_status"] == 7
    assert output["thread"] == [42]
    assert output["subprocess"] == "from a grandchild"


def test_exit_statuses_and_tracebacks_are_a_spawned_agent_s(tmp_path: Path) -> None:
    cases = [
        {"id": "exits_3", "input": {"exit": 3}},
        {"id": "raises", "input": {"raise": "kaboom"}},
    ]
    report = _run(_suite(tmp_path / "s", cases), tmp_path / "out")
    results = {result.case_id: result for result in report.results}
    assert results["exits_3"].exit_code == 3
    assert results["raises"].exit_code == 1
    tail = results["raises"].stderr_tail or ""
    assert "RuntimeError: kaboom" in tail
    assert "fork_agent.py" in tail
    assert "fork_bootstrap" not in tail and "runpy" not in tail  # the agent's frames only


def test_a_child_ends_as_its_interpreter_would(tmp_path: Path) -> None:
    """atexit handlers run, files left open are flushed, sys.exit("text") prints it: the child
    skips only the heap's teardown."""
    kept = tmp_path / "kept.txt"
    cases = [
        {"id": "open", "input": {"leave_open": str(kept), "at_exit": "atexit ran"}},
        {"id": "message", "input": {"exit": "bye"}},
    ]
    report = _run(_suite(tmp_path / "s", cases), tmp_path / "out")
    results = {result.case_id: result for result in report.results}
    assert results["open"].status == "pass" and results["open"].exit_code == 0
    assert kept.read_text() == "kept"
    assert report.run_dir is not None
    assert "atexit ran" in (report.run_dir / "attempts" / "open" / "stderr.log").read_text()
    assert results["message"].exit_code == 1
    assert results["message"].stderr_tail == "bye"


def test_a_sweep_gets_one_server_per_command_and_each_child_its_environment(
    tmp_path: Path,
) -> None:
    agent = tmp_path / "s" / "agent_{model}.py"
    agent.parent.mkdir(parents=True)
    for model in ("m1", "m2"):
        shutil.copy(FORK_AGENT, agent.parent / f"agent_{model}.py")
    cases = [{"id": "c", "input": {}}]
    suite = _suite(
        tmp_path / "s",
        cases,
        agent_command=[sys.executable, str(agent)],
        models=["m1", "m2"],
        runs=2,
        agent_env={"FORK_TEST_VALUE": "x"},
    )
    report = _run(suite, tmp_path / "out", workers=2)
    assert {result.status for result in report.results} == {"pass"}
    assert report.run_dir is not None
    outputs = [
        json.loads(line)["output"]
        for line in (report.run_dir / "run.jsonl").read_text().splitlines()
        if json.loads(line).get("type") == "final_output"
    ]
    assert len(outputs) == 4
    by_model: dict[str, set[int]] = {}
    for output in outputs:
        env = output["env"]
        assert env["FORK_TEST_VALUE"] == "x"
        assert output["argv"][0].endswith(f"agent_{env['HARNESS_MODEL']}.py")
        by_model.setdefault(env["HARNESS_MODEL"], set()).add(output["ppid"])
    assert {model: len(parents) for model, parents in by_model.items()} == {"m1": 1, "m2": 1}
    assert by_model["m1"] != by_model["m2"]
    assert sorted(output["env"]["HARNESS_TRIAL"] for output in outputs) == ["1", "1", "2", "2"]


def test_what_cannot_be_forked_is_spawned_and_the_run_says_why(tmp_path: Path) -> None:
    shell = _suite(
        tmp_path / "shell",
        [{"id": "c", "input": {}}],
        agent_command=["sh", "-c", f"exec {sys.executable} {FORK_AGENT}"],
    )
    report = _run(shell, tmp_path / "out")
    assert _statuses(report.results) == {"c": "pass"}
    (note,) = _notes(report)
    assert "spawning a process per attempt" in note and "'sh' is not a Python interpreter" in note
    assert _outputs(report)["c"]["ppid"] != _outputs(report)["c"]["pid"]

    threads = tmp_path / "threads"
    suite = _suite(
        threads,
        [{"id": "c", "input": {}}],
        preload=["threaded"],
        agent_env={"PYTHONPATH": str(threads)},  # preload imports as the agent would
    )
    (threads / "threaded.py").write_text(
        "import threading, time\nthreading.Thread(target=time.sleep, args=(60,), daemon=True)"
        ".start()\n"
    )
    report = _run(suite, tmp_path / "out")
    assert _statuses(report.results) == {"c": "pass"}
    (note,) = _notes(report)
    assert "threads after preload" in note
    assert _outputs(report)["c"]["ppid"] == os.getpid()  # spawned by harness itself


def test_a_preload_that_does_not_import_is_exit_2_naming_it(tmp_path: Path) -> None:
    suite = _suite(tmp_path / "s", [{"id": "c", "input": {}}], preload=["json", "no_such_mod"])
    runner = Harness(tmp_path)
    run = runner.run(suite)
    assert run.exit_code == 2, run.describe()
    (error,) = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert "preload: 'no_such_mod' failed to import" in error
    assert "suite.yaml" in error and "Traceback" not in run.stderr
    assert surviving_processes(runner.marker, settle_seconds=1) == []


def test_a_server_that_dies_is_restarted_once_then_agents_are_spawned(tmp_path: Path) -> None:
    """The agent kills its fork server: the attempt is lost with it (fork_server_lost, retried),
    a new server is started, the agent kills that one too, and the last try is spawned."""
    suite = _suite(
        tmp_path / "s", [{"id": "c", "input": {"kill_server": True}}], retry={"max_retries": 2}
    )
    report = _run(suite, tmp_path / "out", workers=1)
    (result,) = report.results
    assert result.status == "pass", result.failures
    assert [retry.reason for retry in result.retries] == ["fork_server_lost"] * 2
    (note,) = _notes(report)
    assert "its fork server died 2 times" in note
    assert _outputs(report)["c"]["ppid"] == os.getpid()


def test_a_case_workspace_is_the_child_s_cwd(tmp_path: Path) -> None:
    suite = _suite(
        tmp_path / "s",
        [{"id": "c", "input": {}, "workspace": {"files": []}}],
    )
    report = _run(suite, tmp_path / "out", workspace_dir=tmp_path / "ws")
    (result,) = report.results
    assert result.status == "pass", result.failures
    output = _outputs(report)["c"]
    assert output["cwd"].startswith(str(tmp_path / "ws"))
    assert output["ppid"] != os.getpid()  # still forked


# Runs the LLM agent given as its first argument, after saying on stderr who its parent is.
PARENT_SAYING_AGENT = """\
import os, runpy, sys
with open(f"/proc/{os.getppid()}/cmdline", "rb") as parent:
    sys.stderr.write("forked\\n" if b"fork_bootstrap.py" in parent.read() else "spawned\\n")
agent = sys.argv.pop(1)
runpy.run_path(agent, run_name="__main__")
"""


def test_model_cassettes_reach_each_forked_child_at_its_attempt_s_base_url(
    harness: Harness, tmp_path: Path
) -> None:
    """The openai SDK imported once by the server; each child, two at a time, calls the model
    proxy with its own attempt's base URL and key: recorded, then replayed with no network."""
    if why_not_offline() is not None:
        pytest.skip(str(why_not_offline()))
    wrapper = tmp_path / "parent_saying_agent.py"
    wrapper.write_text(PARENT_SAYING_AGENT)
    key = "sk-fork-test-" + "ab" * 16
    command = [sys.executable, str(wrapper), CLIENTS["openai-chat"].command[1]]
    suite = llm_suite(
        tmp_path / "s",
        "openai-chat",
        agent_command=command,
        model_proxy={},
        agent_reuse="fork",
        preload=["openai", "harness.sdk"],
    )
    with running_providers(standin_script(api_keys=[key])) as providers:
        harness.env.update(providers.upstream_env(), OPENAI_API_KEY=key)
        recorded = harness.run(suite, "--mode", "record", "--workers", "2", timeout_seconds=180)
    assert recorded.exit_code == 0, recorded.describe()
    for name in ("OPENAI_API_KEY", "HARNESS_UPSTREAM_OPENAI_BASE_URL"):
        harness.env.pop(name, None)

    replayed = run_offline(harness, suite, "--workers", "2")

    assert replayed.exit_code == 0, replayed.describe()
    cases = set(CLIENTS["openai-chat"].variants)
    for run in (recorded, replayed):
        assert run.run_json().get("notes", []) == []
        assert set(run.results_by_case()) == cases
        for case_id in cases:
            assert run.stderr_log(case_id).read_text().splitlines()[0] == "forked"

    def answers(run: Run) -> dict[str, list[str]]:
        return {
            case_id: [event["output"]["answer"] for event in run.events_of(case_id, "final_output")]
            for case_id in cases
        }

    assert answers(replayed) == answers(recorded)
    assert all(len(said) == 1 and "09:30" in said[0] for said in answers(replayed).values())
    for case_id in cases:
        calls = replayed.events_of(case_id, "model_call")
        assert len(calls) == 3 and {call["source"] for call in calls} == {"replay"}


@pytest.mark.skipif(not PYTHON39.exists(), reason="no Python 3.9 interpreter on this machine")
def test_the_server_runs_on_the_agent_s_own_python_3_9(tmp_path: Path) -> None:
    cases = [{"id": f"c{i}", "input": {"exit": 0} if i == 2 else {}} for i in range(3)]
    report = _run(
        _suite(tmp_path / "s", cases, agent_command=[str(PYTHON39), "-u", str(FORK_AGENT)]),
        tmp_path / "out",
    )
    statuses = _statuses(report.results)
    assert statuses["c0"] == statuses["c1"] == "pass"
    assert statuses["c2"] == "error"  # exit 0 before final_output
    assert _notes(report) == []
    outputs = _outputs(report)
    assert outputs["c0"]["ppid"] == outputs["c1"]["ppid"] != os.getpid()


@pytest.mark.slow  # a Ray cluster of its own: ~15-40 s
def test_ray_workers_run_one_server_each(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install -e '.[ray]'")
    import logging

    cases = [{"id": f"c{i}", "input": {}} for i in range(40)]  # two shards of 20
    suite = _suite(tmp_path / "s", cases)
    # Every worker falls back to spawning the shell command: the driver says so once.
    shell = _suite(
        tmp_path / "shell",
        cases,
        agent_command=["sh", "-c", f"exec {sys.executable} {FORK_AGENT}"],
    )
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    try:
        report = _run(suite, tmp_path / "out", engine="ray", workers=2)
        spawned = _run(shell, tmp_path / "out", engine="ray", workers=2)
    finally:
        ray.shutdown()
    assert {result.status for result in spawned.results} == {"pass"}
    (note,) = _notes(spawned)
    assert "spawning a process per attempt" in note and "'sh' is not a Python interpreter" in note
    assert _notes(report) == []
    assert {result.status for result in report.results} == {"pass"}
    seen = list(_outputs(report).values())
    assert len(seen) == 40 and all(output["parent_is_server"] for output in seen)
    servers_of: dict[int, set[int]] = {}
    for output in seen:
        servers_of.setdefault(output["grandparent"], set()).add(output["ppid"])
    assert all(len(servers) == 1 for servers in servers_of.values()), servers_of
