"""The model proxy end to end: real agents on the official `openai` and `anthropic` SDKs record
their model calls (through harness, against a local stand-in of the providers) beside their
tool calls, then replay them with the stand-in gone; misses, budgets, upstream failures and
secrets seen from outside (`python -m harness run`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli_runs import REPO, Harness, Run
from tests.support.files import read_jsonl, write_suite
from tests.support.model_upstream import Upstream, model_upstream

MODEL_AGENT = REPO / "tests" / "agents" / "model_agent.py"
PLANTED_KEY = "sk-planted-" + "K" * 32
TOOLS_PY = "def echo(text):\n    return {'length': len(text)}\n"

EVERY_CLIENT = [
    {"client": "openai_chat", "prompt": "bonjour"},
    {"client": "openai_chat_stream", "prompt": "streamed"},
    {"client": "openai_chat_async", "prompt": "async"},
    {"client": "openai_responses", "prompt": "responses"},
    {"client": "openai_responses_stream", "prompt": "responses streamed"},
    {"client": "openai_models"},
    {"client": "anthropic", "prompt": "claude"},
    {"client": "anthropic_stream", "prompt": "claude streamed"},
    {"client": "anthropic_async", "prompt": "claude async"},
    {"client": "anthropic_count", "prompt": "count me"},
]


def model_suite(root: Path, upstream: Upstream, calls: list[dict[str, Any]], **proxy: Any) -> Path:
    suite = write_suite(
        root / "suite",
        {
            "suite_name": "models",
            "agent_command": [sys.executable, str(MODEL_AGENT)],
            "tool_registry": ["echo"],
            "tools": {"echo": {"backend": "python", "function": "tools:echo"}},
            "model_proxy": {
                "upstreams": {"openai": upstream.openai_url, "anthropic": upstream.anthropic_url},
                **proxy,
            },
        },
        [{"id": "c1", "input": {"calls": calls, "tool": "echo"}, "cassette": "cassettes/c1.jsonl"}],
    )
    (suite / "tools.py").write_text(TOOLS_PY)
    return suite


def keyed(harness: Harness) -> Harness:
    harness.env["OPENAI_API_KEY"] = PLANTED_KEY
    harness.env["ANTHROPIC_API_KEY"] = PLANTED_KEY
    return harness


def final_output(run: Run) -> Any:
    (event,) = run.events_of("c1", "final_output")
    return event["output"]


def test_every_client_records_then_replays_without_the_upstream(
    harness: Harness, tmp_path: Path
) -> None:
    keyed(harness)
    with model_upstream() as upstream:
        suite = model_suite(tmp_path, upstream, EVERY_CLIENT)
        recorded = harness.run(suite, "--mode", "record")
        assert recorded.exit_code == 0, recorded.describe()
        seen = list(upstream.requests)
    # The stand-in is gone: replay can only answer from the cassette.
    replayed = harness.run(suite)
    assert replayed.exit_code == 0, replayed.describe()
    output = final_output(replayed)
    assert output == final_output(recorded)
    assert output["texts"][0] == "Écho «bonjour» ✓"
    assert output["texts"][1] == "Écho «streamed» ✓"  # split inside UTF-8 upstream
    assert output["texts"][5] == "gpt-test"
    assert output["texts"][9] == str(len("count me"))
    assert len(output["tool_results"]) == len(EVERY_CLIENT)  # tool calls interleaved
    # The agent had a placeholder, the upstream the invoker's key, the cassette neither.
    assert output["placeholder_keys"] == {"OPENAI_API_KEY": True, "ANTHROPIC_API_KEY": True}
    assert {r.headers.get("authorization") for r in seen if r.path.startswith("/v1/c")} == {
        f"Bearer {PLANTED_KEY}"
    }
    assert {r.headers.get("x-api-key") for r in seen if "messages" in r.path} == {PLANTED_KEY}
    lines = read_jsonl(suite / "cassettes" / "c1.jsonl")
    models = [line for line in lines if line.get("kind") == "model"]
    assert len(models) == len(EVERY_CLIENT)
    assert all(line["tool"] == "harness:model" and line["args"] == {} for line in models)
    assert "set-cookie" not in json.dumps(models)
    assert "user" not in models[0]["request"]  # volatile fields are not stored
    stream = models[1]["events"]
    assert stream[-1]["data"] == "[DONE]"
    # Usage read from the answers, streamed or not, without the agent's help.
    result = replayed.results()[0]
    assert result["tokens_out"] == result_tokens_out(recorded)
    assert result["tokens_out"] > 0


def result_tokens_out(run: Run) -> int:
    value = run.results()[0]["tokens_out"]
    assert isinstance(value, int)
    return value


def test_a_planted_key_reaches_no_file_the_run_wrote(harness: Harness, tmp_path: Path) -> None:
    keyed(harness)
    with model_upstream() as upstream:
        suite = model_suite(tmp_path, upstream, EVERY_CLIENT[:2] + EVERY_CLIENT[6:8])
        run = harness.run(suite, "--mode", "record")
    assert run.exit_code == 0, run.describe()
    written = [path for path in (*suite.rglob("*"), *harness.out.rglob("*")) if path.is_file()]
    assert written
    leaked = [path for path in written if PLANTED_KEY.encode() in path.read_bytes()]
    assert leaked == []


def test_one_changed_word_is_a_model_miss_naming_the_path(harness: Harness, tmp_path: Path) -> None:
    with model_upstream() as upstream:
        suite = model_suite(tmp_path, upstream, [{"client": "openai_chat", "prompt": "hello"}])
        assert harness.run(suite, "--mode", "record").exit_code == 0
    case = suite / "cases" / "c1.yaml"
    case.write_text(case.read_text().replace("hello", "goodbye"))
    run = harness.run(suite)
    assert run.exit_code == 1, run.describe()
    (failure, *_) = run.results()[0]["failures"]
    assert failure["type"] == "model_miss"
    assert "$.messages[0].content" in failure["message"]
    assert failure["details"]["paths"] == ["$.messages[0].content"]
    assert "cassettes/c1.jsonl:" in failure["details"]["nearest"]


def test_upstream_429_is_retried_and_a_400_is_recorded_and_replayed(
    harness: Harness, tmp_path: Path
) -> None:
    calls = [
        {"client": "openai_chat", "prompt": "first"},
        {"client": "anthropic", "prompt": "a BAD REQUEST"},
    ]
    with model_upstream() as upstream:
        suite = model_suite(
            tmp_path, upstream, calls, retry={"attempts": 3, "initial_backoff_ms": 1}
        )
        upstream.fail_next(2, status=429)
        recorded = harness.run(suite, "--mode", "record")
        assert recorded.exit_code == 0, recorded.describe()
    replayed = harness.run(suite)
    assert replayed.exit_code == 0, replayed.describe()
    texts = final_output(replayed)["texts"]
    assert texts[0] == "Écho «first» ✓"
    assert texts[1].startswith("error 400")


def test_an_upstream_down_past_the_retries_stores_nothing(harness: Harness, tmp_path: Path) -> None:
    with model_upstream() as upstream:
        suite = model_suite(
            tmp_path,
            upstream,
            [{"client": "openai_chat", "prompt": "x"}],
            retry={"attempts": 2, "initial_backoff_ms": 1},
        )
        upstream.fail_next(10, status=503)
        run = harness.run(suite, "--mode", "record", "--max-retries", "0")
    assert run.exit_code != 0
    result = run.results()[0]
    assert result["failures"][0]["type"] == "model_upstream_error"
    assert result["outcome"] == "infra_error"
    assert not (suite / "cassettes" / "c1.jsonl").exists()


@pytest.mark.parametrize("budget", ["max_tokens_out", "max_cost_usd"])
def test_a_spent_budget_refuses_the_next_model_call(
    harness: Harness, tmp_path: Path, budget: str
) -> None:
    calls = [{"client": "openai_chat", "prompt": f"call {n}"} for n in range(3)]
    with model_upstream() as upstream:
        suite = model_suite(
            tmp_path,
            upstream,
            calls,
            pricing={"gpt-test": {"input_usd_per_mtok": 1000, "output_usd_per_mtok": 1000}},
        )
        assert harness.run(suite, "--mode", "record").exit_code == 0
    limit = {"max_tokens_out": 10, "max_cost_usd": 0.03}[budget]
    text = (suite / "suite.yaml").read_text() + f"budgets:\n  {budget}: {limit}\n"
    (suite / "suite.yaml").write_text(text)
    run = harness.run(suite)
    result = run.results()[0]
    assert result["failures"][0]["type"] == "budget_exceeded"
    assert result["failures"][0]["details"]["field"] == budget
    # Two calls spent it (7 tokens out, $0.018 each); the third was refused.
    assert result["tokens_out"] == 14
    assert result["cost_usd"] == pytest.approx(0.036)
