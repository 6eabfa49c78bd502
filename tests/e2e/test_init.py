"""`harness init` from a clean folder: a suite that runs, recorded cassettes, a baseline, CI."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.support.cli_runs import Harness
from tests.support.files import read_json, read_jsonl

CASSETTES = ("shipped_order", "unknown_order", "general_question")


def init(harness: Harness, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", "init", *args],
        cwd=harness.cwd,
        env=harness.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_init_scaffolds_a_suite_that_runs_and_never_overwrites(harness: Harness) -> None:
    done = init(harness)
    assert done.returncode == 0, done.stdout + done.stderr
    suite = harness.cwd / "evals" / "demo"
    for name in ("suite.yaml", "tools.py", "schema.json", "agent/agent.py"):
        assert (suite / name).is_file(), name
    assert "from harness.sdk import" in (suite / "agent" / "agent.py").read_text()
    for case_id in CASSETTES:
        lines = read_jsonl(suite / "cassettes" / f"{case_id}.jsonl")
        assert lines[0]["type"] == "cassette_header" and lines[0]["backend"] == "python"
    assert read_json(harness.cwd / "baselines" / "demo.json")["cases"]
    workflow = (harness.cwd / ".github" / "workflows" / "harness.yml").read_text()
    assert "harness run evals/demo --mode replay --baseline baselines/demo.json" in workflow
    assert "Next:" in done.stdout and "harness run evals/demo --mode record" in done.stdout

    suite_yaml = (suite / "suite.yaml").read_text()
    assert "agent_reuse: fork" in suite_yaml and "preload: [harness.sdk]" in suite_yaml

    replay = harness.run(suite)
    assert replay.exit_code == 0, replay.describe()
    assert "notes" not in replay.run_json()  # forked: nothing made harness spawn instead

    cassette = (suite / "cassettes" / "unknown_order.jsonl").read_bytes()
    (suite / "suite.yaml").write_text(
        (suite / "suite.yaml").read_text() + "# mine\n", encoding="utf-8"
    )
    again = init(harness)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "wrote" not in again.stdout.split("Running")[0]
    assert (suite / "suite.yaml").read_text().endswith("# mine\n")
    assert (suite / "cassettes" / "unknown_order.jsonl").read_bytes() == cassette

    forced = init(harness, "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert not (suite / "suite.yaml").read_text().endswith("# mine\n")


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_init_node_agent(harness: Harness) -> None:
    done = init(harness, "--path", "agents/evals", "--suite", "shop", "--language", "node")
    assert done.returncode == 0, done.stdout + done.stderr
    suite = harness.cwd / "agents" / "evals" / "shop"
    assert (suite / "agent" / "agent.js").is_file() and not (suite / "agent" / "agent.py").exists()
    assert (harness.cwd / "agents" / "baselines" / "shop.json").is_file()
    workflow = (harness.cwd / "agents" / ".github" / "workflows" / "harness.yml").read_text()
    assert "actions/setup-node" in workflow
    assert harness.run(suite).exit_code == 0


def test_init_refuses_an_unknown_language(harness: Harness) -> None:
    done = init(harness, "--language", "cobol")
    assert done.returncode == 2
    assert done.stderr.strip() == "error: --language 'cobol': use one of python, node"
    assert not (harness.cwd / "evals").exists()


def test_init_openai_template_replays_its_model_and_tool_calls_offline(harness: Harness) -> None:
    # No key, and an upstream nothing listens on: only the shipped cassettes can answer.
    harness.env.pop("OPENAI_API_KEY", None)
    harness.env["HARNESS_UPSTREAM_OPENAI_BASE_URL"] = "http://127.0.0.1:9/v1"
    done = init(harness, "--template", "openai", "--suite", "llm")
    assert done.returncode == 0, done.stdout + done.stderr
    suite = harness.cwd / "evals" / "llm"
    assert "from openai import OpenAI" in (suite / "agent" / "agent.py").read_text()
    assert "preload: [harness.sdk, openai]" in (suite / "suite.yaml").read_text()
    replay = harness.run(suite)
    assert replay.exit_code == 0, replay.describe()
    assert "notes" not in replay.run_json()  # forked
    results = replay.results_by_case()
    assert results["shipped_order"]["tool_calls_by_name"] == {"get_order": 1, "search_kb": 1}
    assert results["shipped_order"]["tokens_out"] > 0 and results["shipped_order"]["cost_usd"] > 0
    (final,) = replay.events_of("unknown_order", "final_output")
    assert final["output"]["status"] == "not_found"
    assert "could not find order ORD-9999" in final["output"]["reply"]
    workflow = (harness.cwd / ".github" / "workflows" / "harness.yml").read_text()
    [install] = [line for line in workflow.splitlines() if "pip install" in line]
    assert install.endswith(" openai") and "pip install harness " not in install
    # Next steps for a model in the cassettes: replay without a key, record with one.
    steps = done.stdout.split("Next:")[1]
    assert (
        "harness run evals/llm        # replay model and tool calls: no network, no API key"
        in steps
    )
    assert "OPENAI_API_KEY=sk-... harness run evals/llm --mode record   #" in steps
    assert "--mode record --case shipped_order   # re-record one case" in steps
    assert "call tools.py again" not in steps  # the support template's line, not this one's


def test_init_openai_template_is_python_only(harness: Harness) -> None:
    done = init(harness, "--template", "openai", "--language", "node")
    assert done.returncode == 2
    assert "--template openai" in done.stderr


def test_init_in_a_subfolder_of_a_repository_puts_the_workflow_at_its_top(
    harness: Harness,
) -> None:
    (harness.cwd / ".git").mkdir()
    (harness.cwd / "sub").mkdir()
    harness.cwd = harness.cwd / "sub"
    done = init(harness, "--path", "evals", "--suite", "weather")
    assert done.returncode == 0, done.stdout + done.stderr
    top = harness.cwd.parent
    assert not (harness.cwd / ".github").exists()
    workflow = (top / ".github" / "workflows" / "harness.yml").read_text()
    # Paths from the repository's top, where the workflow runs.
    run = "harness run sub/evals/weather --mode replay --baseline sub/baselines/weather.json"
    assert run in workflow
    assert "name: weather evals" in workflow
    [install] = [line for line in workflow.splitlines() if "pip install" in line]
    assert install.strip() != "- run: pip install harness"  # not a name PyPI knows as ours
    assert (harness.cwd / "baselines" / "weather.json").is_file()
    suite_yaml = (harness.cwd / "evals" / "weather" / "suite.yaml").read_text()
    assert "the weather suite" in suite_yaml and "suite_name: weather" in suite_yaml
    assert "description: weather" in suite_yaml
    # Commands in the scaffold's comments, like the workflow's, are from the repository's top;
    # the agent runs on the interpreter running harness, with no path of this machine.
    assert "#   harness run sub/evals/weather --mode record" in suite_yaml
    assert (
        "harness run sub/evals/weather --mode record"
        in (harness.cwd / "evals" / "weather" / "tools.py").read_text()
    )
    assert "agent_command: [{python}, agent/agent.py]" in suite_yaml
    assert harness.run(harness.cwd / "evals" / "weather").exit_code == 0
