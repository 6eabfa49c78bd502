"""The real LLM agents (tests/agents/llm: openai chat and Responses, anthropic, pydantic-ai, and
Node's openai package) under `harness run --mode record`, with their SDKs pointed straight at the
provider stand-in: each asks the model, runs the tools it asks for through harness, and answers,
on every way of calling its SDK. (Through harness's model proxy: test_model_cassettes*.py.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli_runs import Harness
from tests.support.llm_suites import CLIENTS, install_node_agent, llm_suite, standin_script
from tests.support.providers import Providers, running_providers
from tests.support.record_suites import entries


@pytest.fixture(scope="module")
def providers() -> Iterator[Providers]:
    why_not = install_node_agent()
    if why_not is not None:
        pytest.fail(why_not)
    with running_providers(standin_script()) as running:
        yield running


@pytest.mark.parametrize("client", list(CLIENTS))
def test_each_agent_interleaves_model_and_tool_calls_on_every_variant(
    client: str, providers: Providers, harness: Harness, tmp_path: Path
) -> None:
    harness.env.update(providers.client_env())
    harness.env.update(OPENAI_API_KEY="sk-direct", ANTHROPIC_API_KEY="sk-ant-direct")
    suite = llm_suite(tmp_path / client, client)
    before = len(providers.received)

    run = harness.run(suite, "--mode", "record", "--workers", "2", timeout_seconds=180)

    assert run.exit_code == 0, run.describe()
    variants = CLIENTS[client].variants
    assert set(run.results_by_case()) == set(variants)
    for case_id in variants:
        (final,) = run.events_of(case_id, "final_output")
        output = final["output"]
        assert output["tools_used"] == ["get_weather", "local_time"], output
        assert output["model_turns"] == 3
        assert output["answer"].startswith("Oslo → ") and "09:30" in output["answer"]
        assert output["answer"].endswith("☂️ Ha det bra!")
        tools = [(e["tool"], e["args"]) for e in entries(suite / "cassettes" / f"{case_id}.jsonl")]
        assert tools == [("get_weather", {"city": "Oslo"}), ("local_time", {"city": "Oslo"})]
    calls = [
        r
        for r in providers.received[before:]
        if r.path.endswith(("completions", "responses", "messages"))
    ]
    assert len(calls) == 3 * len(variants)
    assert {r.status for r in providers.received[before:]} == {200}
    streamed = sum(json.loads(r.body).get("stream") is True for r in calls)
    assert streamed == 3 * sum(bool(v.get("stream")) for v in variants.values())
