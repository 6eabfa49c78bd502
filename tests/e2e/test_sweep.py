"""Sweeps through the CLI: models x trials with real agents, statistics checked against values
computed by hand, retries of infrastructure failures, and the output layout.

The agent (tests/agents/sweep_agent.py) plays one letter per (model, trial): P pass, F fail,
B budget, E infrastructure error every try, K/X/R infrastructure errors that a retry cures.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli_runs import Harness, surviving_processes
from tests.support.files import read_jsonl, write_suite
from tests.support.sweep_suites import SWEEP_AGENT, sweep_suite

OUTCOMES = {
    "c1": {"alpha": "PPFPF", "beta": "PPPPP"},
    "c2": {"alpha": "FFFFF", "beta": "FPPBP"},
    "c3": {"alpha": "PEPPP", "beta": "PPKPX"},
}


@pytest.fixture(scope="module")
def stats_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Harness]]:
    root = tmp_path_factory.mktemp("sweep_stats")
    harness = Harness(root)
    suite = sweep_suite(root, OUTCOMES, models=["alpha", "beta"], runs=5)
    run = harness.run(suite, "--workers", "4", "--max-retries", "1")
    yield run, harness
    assert surviving_processes(harness.marker, settle_seconds=1) == []


def rows(summary: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(row["case_id"], row["model"]): row for row in summary["sweep"]["cases"]}


def test_sweep_statistics_match_hand_computed_values(stats_run: tuple[Any, Harness]) -> None:
    run, _ = stats_run
    assert run.exit_code == 1, run.describe()  # failures among the counted trials
    summary = run.summary()
    by = rows(summary)
    assert summary["sweep"]["k"] == 5 and summary["sweep"]["models"] == ["alpha", "beta"]

    # c1/alpha PPFPF: n=5, c=3. pass@5 = 1 (n-c=2 < 5); pass^5 = C(3,5)/C(5,5) = 0;
    # plug-in 0.6^5 = 0.07776; Wilson 3/5 = [0.2307, 0.8824]; P first, so "unstable".
    row = by["c1", "alpha"]
    assert (row["n"], row["c"], row["lost"], row["outcomes"]) == (5, 3, 0, "PPFPF")
    assert row["pass_rate"] == 0.6
    assert row["wilson_95"] == pytest.approx([0.2307, 0.8824], abs=1e-4)
    assert row["pass_at_k"] == 1.0 and row["pass_hat_k"] == 0.0
    assert row["pass_hat_k_plugin"] == pytest.approx(0.07776)
    assert row["flaky"] and row["minority_share"] == pytest.approx(0.4)
    assert row["stability"] == "unstable"
    # Smaller k: pass@2 = 1 - C(2,2)/C(5,2) = 0.9, pass^2 = C(3,2)/C(5,2) = 0.3,
    # pass@3 = 1 (only 2 failures), pass^3 = C(3,3)/C(5,3) = 0.1, pass@1 = pass^1 = 0.6.
    assert row["pass_at"] == pytest.approx({"1": 0.6, "2": 0.9, "3": 1.0, "4": 1.0, "5": 1.0})
    assert row["pass_hat"] == pytest.approx({"1": 0.6, "2": 0.3, "3": 0.1, "4": 0.0, "5": 0.0})

    # c2/alpha FFFFF: Wilson 0/5 = [0, 0.4345].
    row = by["c2", "alpha"]
    assert (row["c"], row["pass_at_k"], row["stability"]) == (0, 0.0, "deterministic_fail")
    assert row["wilson_95"] == pytest.approx([0.0, 0.4345], abs=1e-4)

    # c2/beta FPPBP: the budget overrun is a counted failure; F first, P last: Assay's "flaky".
    row = by["c2", "beta"]
    assert (row["n"], row["c"], row["budget_exceeded"], row["outcomes"]) == (5, 3, 1, "FPPBP")
    assert row["stability"] == "flaky" and row["flaky"]

    # c3/alpha PEPPP: the E survives its retry and is no trial: n=4, c=4, 1 lost; with k=5 > n
    # there is no pass@5 to claim. Wilson 4/4 = [0.5101, 1].
    row = by["c3", "alpha"]
    assert (row["n"], row["c"], row["lost"], row["outcomes"]) == (4, 4, 1, "PEPPP")
    assert row["pass_rate"] == 1.0 and row["pass_at_k"] is None and row["pass_hat_k"] is None
    assert row["wilson_95"] == pytest.approx([0.5101, 1.0], abs=1e-4)
    assert row["stability"] == "deterministic_pass"

    # c3/beta PPKPX: the SIGKILL and the exit 75 were retried and then passed.
    row = by["c3", "beta"]
    assert (row["n"], row["c"], row["outcomes"]) == (5, 5, "PPPPP")

    alpha, beta = summary["sweep"]["per_model"]
    assert alpha["model"] == "alpha" and beta["model"] == "beta"
    # alpha: 14 counted trials, 7 passed; macro pass rate mean(0.6, 0, 1) = 0.5333;
    # pass@5 macro mean(1, 0) = 0.5 (c3 has none: a trial was lost).
    assert (alpha["trials_counted"], alpha["passed"], alpha["trials_lost"]) == (14, 7, 1)
    assert alpha["pass_rate"] == pytest.approx(1.6 / 3)
    assert alpha["pass_rate_pooled"] == 0.5
    assert alpha["pass_at_k"] == 0.5 and alpha["pass_hat_k"] == 0.0
    assert alpha["flaky_cases"] == 1
    # beta: 15 counted, 13 passed, macro mean(1, 0.6, 1) = 0.8667, one budget overrun.
    assert (beta["trials_counted"], beta["passed"], beta["budget_exceeded"]) == (15, 13, 1)
    assert beta["pass_rate"] == pytest.approx(2.6 / 3)
    assert beta["pass_hat_k"] == pytest.approx(2 / 3)  # mean(1, 0, 1)
    # Usage per model: every final_output reports tokens_out 10 and $0.25; the budget trial
    # reported tokens_out 1000 in a usage message and was stopped there.
    assert alpha["usage"]["tokens_out_total"] == 140 and alpha["usage"]["cost_usd_total"] == 3.5
    assert beta["usage"]["tokens_out_total"] == 14 * 10 + 1000
    assert beta["usage"]["cost_usd_total"] == 3.5

    completeness = summary["run"]["completeness"]
    assert completeness["complete"] and completeness["planned"] == 30
    assert completeness["trials_lost"] == 1
    assert "1 of 30 trials lost" in run.stdout


def test_sweep_results_outcomes_and_retries(stats_run: tuple[Any, Harness]) -> None:
    run, _ = stats_run
    results = {r["attempt_id"]: r for r in run.results()}
    assert len(results) == len(run.results()) == 30  # one final line per planned attempt
    assert results["c1/alpha/3"]["outcome"] == "failed"
    assert "retries" not in results["c1/alpha/3"]  # an assertion failure is never retried
    assert results["c2/beta/4"]["outcome"] == "budget_exceeded"
    lost = results["c3/alpha/2"]
    assert lost["outcome"] == "infra_error" and lost["status"] == "error"
    assert lost["infra_reason"] == "agent task_error marked retryable"
    assert [r["try_number"] for r in lost["retries"]] == [1]
    killed = results["c3/beta/3"]
    assert killed["outcome"] == "passed"
    (retry,) = killed["retries"]
    assert retry["reason"] == "agent killed by SIGKILL" and retry["signal"] == 9
    exited = results["c3/beta/5"]
    assert exited["retries"][0]["reason"] == "agent exit status 75 (retry.exit_codes)"
    # Model, trial and seed are recorded; the seed is the same for every model of a trial.
    assert results["c1/alpha/2"]["seed"] == results["c1/beta/2"]["seed"]
    assert results["c1/alpha/2"]["seed"] != results["c1/alpha/3"]["seed"]
    assert (results["c2/beta/1"]["model"], results["c2/beta/1"]["trial"]) == ("beta", 1)


def test_sweep_layout_and_summary_md(stats_run: tuple[Any, Harness]) -> None:
    run, _ = stats_run
    for case_id, models in OUTCOMES.items():
        for model in models:
            for trial in range(1, 6):
                folder = run.dir / "attempts" / case_id / model / f"trial-{trial}"
                events = read_jsonl(folder / "transcript.jsonl")
                assert events[0]["type"] == "task_start"
                assert events[0]["attempt_id"] == f"{case_id}/{model}/{trial}"
                assert f"{model} trial {trial}" in (folder / "stderr.log").read_text()
    # The killed first try's stderr is kept beside the final one.
    folder = run.dir / "attempts" / "c3" / "beta" / "trial-3"
    assert "try 1" in (folder / "stderr.try-1.log").read_text()
    assert "try 2" in (folder / "stderr.log").read_text()

    markdown = (run.dir / "summary.md").read_text()
    assert "| c1 | 3/5 `PPFPF` ~ | 5/5 `PPPPP` |" in markdown
    assert "| c3 | 4/4 `PEPPP` | 5/5 `PPPPP` |" in markdown
    assert "| c2 | beta | `FPPBP` | 40% | flaky |" in markdown
    assert "pass^5 plug-in" in markdown and "1 of 30 trials lost" in markdown
    run_info = run.run_json()
    assert run_info["models"] == ["alpha", "beta"] and run_info["runs"] == 5
    assert run_info["trials_lost"] == 1 and run_info["complete"] is True


def test_seeded_outcomes_are_deterministic(harness: Harness, tmp_path: Path) -> None:
    # An agent that behaves like a sampled model: pass iff its seeded draw is under a rate.
    suite = write_suite(
        tmp_path / "seeded",
        {
            "suite_name": "seeded",
            "agent_command": [sys.executable, str(SWEEP_AGENT)],
            "assertions": [{"type": "required_fields", "fields": ["answer"]}],
            "models": ["steady", "coin"],
            "runs": 8,
        },
        [{"id": "q", "input": {"pass_rates": {"steady": 1.0, "coin": 0.5}}}],
    )

    first, second = harness.run(suite, "--workers", "4"), harness.run(suite, "--workers", "1")

    letters = [
        {row["model"]: row["outcomes"] for row in run.summary()["sweep"]["cases"]}
        for run in (first, second)
    ]
    assert letters[0] == letters[1]  # same plan, same seeds, same outcomes, any scheduling
    assert letters[0]["steady"] == "P" * 8
    coin = letters[0]["coin"]
    assert set(coin) <= {"P", "F"} and "P" in coin and "F" in coin  # fixed by the seeds
    (row,) = [r for r in first.summary()["sweep"]["cases"] if r["model"] == "coin"]
    assert (row["n"], row["c"]) == (8, coin.count("P"))
    assert row["flaky"] and row["minority_share"] == min(row["c"], 8 - row["c"]) / 8


def test_retryable_error_twice_then_pass(harness: Harness, tmp_path: Path) -> None:
    suite = sweep_suite(tmp_path, {"flaky_api": {"m": "R"}})

    run = harness.run(suite, "--model", "m", "--max-retries", "2")

    assert run.exit_code == 0, run.describe()
    (result,) = run.results()
    assert result["outcome"] == "passed"
    assert [r["try_number"] for r in result["retries"]] == [1, 2]
    assert {r["failure_type"] for r in result["retries"]} == {"task_error"}
    folder = run.dir / "attempts" / "flaky_api" / "m" / "trial-1"
    assert [r["stderr_path"] for r in result["retries"]] == [
        str(folder / "stderr.try-1.log"),
        str(folder / "stderr.try-2.log"),
    ]
    assert "try 3" in (folder / "stderr.log").read_text()

    # With fewer retries than it needs, the trial is lost, never a pass or a fail.
    for counter in (tmp_path / "state").iterdir():
        counter.unlink()
    run = harness.run(suite, "--model", "m", "--max-retries", "1")
    assert run.exit_code == 3, run.describe()  # infrastructure (harness.kinds), not a failure
    (result,) = run.results()
    assert result["outcome"] == "infra_error" and len(result["retries"]) == 1
    (row,) = run.summary()["sweep"]["cases"]
    assert (row["n"], row["lost"], row["pass_rate"]) == (0, 1, None)
    assert row["stability"] == "no_trials"


def test_model_placeholders_reach_command_cassette_and_env(
    harness: Harness, tmp_path: Path
) -> None:
    agent = tmp_path / "echo_agent.py"
    agent.write_text(
        "import json, os, sys\n"
        "task = json.loads(sys.stdin.readline())\n"
        "print(json.dumps({'type': 'tool_call', 'name': 'weather', 'call_id': 1, 'args': {}}))\n"
        "sys.stdout.flush()\n"
        "result = json.loads(sys.stdin.readline())['result']\n"
        "print(json.dumps({'type': 'final_output', 'output': {'argv': sys.argv[1:],\n"
        "  'env': os.environ.get('HARNESS_MODEL'), 'task': task, 'result': result}}))\n"
    )
    cassettes: dict[str, Sequence[dict[str, Any]]] = {
        f"cassettes/{model}/t1.jsonl": [
            {"tool": "weather", "args": {}, "ok": True, "result": f"sunny for {model}"}
        ]
        for model in ("m1", "m2")
    }
    suite = write_suite(
        tmp_path / "placeholders",
        {
            "suite_name": "placeholders",
            "agent_command": [sys.executable, str(agent), "--model={model}"],
            "tool_registry": ["weather"],
            "models": ["m1", "m2"],
        },
        [{"id": "t1", "input": {"q": 1}, "cassette": "cassettes/{model}/t1.jsonl"}],
        cassettes,
    )

    run = harness.run(suite)

    assert run.exit_code == 0, run.describe()
    finals = {
        event["attempt_id"]: event["output"]
        for event in run.events()
        if event["type"] == "final_output"
    }
    for model in ("m1", "m2"):
        output = finals[f"t1/{model}/1"]
        assert output["argv"] == [f"--model={model}"]
        assert output["env"] == model
        assert output["result"] == f"sunny for {model}"
        assert (output["task"]["model"], output["task"]["trial"]) == (model, 1)
        assert isinstance(output["task"]["seed"], int)


def test_list_runs_zero_and_selection(harness: Harness, tmp_path: Path) -> None:
    suite = write_suite(
        tmp_path / "select",
        {"suite_name": "select", "agent_command": [sys.executable, str(SWEEP_AGENT)]},
        [
            {"id": "t1", "input": {}, "tags": {"cost": "free", "area": "billing"}},
            {"id": "t2", "input": {}, "tags": {"cost": "low", "area": "auth"}},
            {"id": "t7", "input": {}, "tags": {"cost": "low", "area": "billing"}},
        ],
    )

    listed = harness.run(
        suite, "--list", "--model", "a,b", "--runs", "2", "--tag", "cost=free,low",
        "--tag", "area=billing", "--case", "t*",
    )  # fmt: skip
    assert listed.exit_code == 0, listed.describe()
    assert listed.stdout.split() == [
        "t1/a/1", "t1/b/1", "t7/a/1", "t7/b/1", "t1/a/2", "t1/b/2", "t7/a/2", "t7/b/2",
    ]  # fmt: skip
    assert "2 case(s) x 2 model(s) (a, b) x 2 trial(s) = 8 attempt(s)" in listed.stderr

    validated = harness.run(suite, "--runs", "0")
    assert validated.exit_code == 0, validated.describe()
    assert "validated, nothing run" in validated.stderr
    assert harness.run_dirs() == []

    for args, message in (
        (("--tag", "cost=pricey"), "values of 'cost' in the suite: free, low"),
        (("--case", "nope*"), "unknown case id or pattern nope*"),
        (("--model", "a,,b"), "--model: a model name must not be empty"),
        (("--runs", "-1"), "--runs must be 0 or more"),
        (("--quiet", "--verbose"), "--quiet and --verbose"),
    ):
        bad = harness.run(suite, *args)
        assert bad.exit_code == 2, bad.describe()
        assert message in bad.stderr and "Traceback" not in bad.stderr
    assert harness.run_dirs() == []


def test_unfair_sweep_is_a_config_error(harness: Harness, tmp_path: Path) -> None:
    suite = sweep_suite(tmp_path, {"t1": {}, "t2": {}}, models=["a", "b"])
    case_file = suite / "cases" / "t2.yaml"
    case_file.write_text(case_file.read_text() + "models: [a]\n")

    run = harness.run(suite)

    assert run.exit_code == 2, run.describe()
    assert "t2.yaml:1: models: case 't2' runs on [a] while the sweep compares [a, b]" in run.stderr
    assert harness.run_dirs() == []


def test_verbose_streams_agent_output_by_attempt(harness: Harness, tmp_path: Path) -> None:
    suite = sweep_suite(tmp_path, {"t1": {"m": "PP"}})

    run = harness.run(suite, "--model", "m", "--runs", "2", "--verbose")

    assert run.exit_code == 0, run.describe()
    assert "[t1/m/1] sweep_agent: m trial 1 try 1 plays P" in run.stderr
    assert "[t1/m/2] sweep_agent: m trial 2 try 1 plays P" in run.stderr
    quiet = harness.run(suite, "--model", "m", "--quiet")
    assert quiet.exit_code == 0 and quiet.stderr == "", quiet.describe()


def test_plain_progress_lines_off_a_terminal(harness: Harness, tmp_path: Path) -> None:
    suite = sweep_suite(tmp_path, {"t1": {"m": "PS"}}, budgets={"max_wall_ms": 1500})
    harness.env["HARNESS_PROGRESS_SECONDS"] = "0.3"

    run = harness.run(suite, "--model", "m", "--runs", "2", "--workers", "1")

    assert run.exit_code == 1, run.describe()  # the sleeper hits max_wall_ms
    lines = [line for line in run.stderr.splitlines() if line.startswith("[")]
    assert lines, run.stderr
    assert "passed" in lines[-1] and "running" in lines[-1] and "elapsed" in lines[-1]
    json.dumps(lines)  # plain text, no terminal control sequences
    assert all("\x1b" not in line for line in lines)


def test_live_progress_on_a_terminal(harness: Harness, tmp_path: Path) -> None:
    suite = sweep_suite(tmp_path, {"t1": {"m": "PS"}}, budgets={"max_wall_ms": 1500})
    env = {**harness.env, "TERM": "xterm", "COLUMNS": "120"}
    env.pop("CI", None)
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        harness.argv(suite, "--model", "m", "--runs", "2"),
        cwd=harness.cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
    )
    os.close(follower)
    screen = b""
    try:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's last writer has gone
                break
            if not chunk:
                break
            screen += chunk
        process.wait(timeout=30)
    finally:
        os.close(leader)
        if process.poll() is None:
            process.kill()
        assert process.stdout is not None
        process.stdout.close()

    text = screen.decode("utf-8", errors="replace")
    assert process.returncode == 1  # the sleeper hits max_wall_ms
    assert "\x1b[" in text  # drawn and redrawn in place
    assert "all" in text and "passed" in text and "elapsed" in text
    assert "running" in text and "t1/m/2" in text  # the attempt still running is named
