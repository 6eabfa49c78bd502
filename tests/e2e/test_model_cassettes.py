"""Model cassettes end to end, with the real clients: every LLM agent of tests/agents/llm (the
`openai` SDK's chat completions and Responses API, `anthropic`, pydantic-ai, Node's `openai`),
on every way of calling its SDK, records its model calls through harness against the provider
stand-in, then replays them with no network at all (`unshare -rn`), twice, identically.
The invoker's (planted) key reaches upstream and no file. Also: a one-word change to a prompt is
a model_miss naming the path, a 429 while recording is retried, and a 400 is recorded and
replayed as it came.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

from tests.support.cli_runs import SUITES, Harness, Run
from tests.support.llm_suites import (
    CLIENTS,
    PROMPT,
    install_node_agent,
    llm_suite,
    standin_script,
)
from tests.support.offline import run_offline, why_not_offline
from tests.support.providers import (
    ErrorSpec,
    FailFirst,
    Providers,
    Rule,
    Turn,
    load_script,
    running_providers,
)
from tests.support.record_suites import cassette_lines

PLANTED_KEY = "sk-planted-" + "7f3c9a" * 6
# One worker: one agent process (protocol 2) serves every case, so its SDK is imported once.
WORKERS = ("--workers", "1")
# Volatile per run: when an event happened and how long a case took. Everything else a replay
# shows must be the same.
VOLATILE = {"timestamp", "wall_ms"}

pytestmark = pytest.mark.skipif(why_not_offline() is not None, reason=str(why_not_offline()))


@pytest.fixture(scope="module")
def node_agent() -> None:
    why_not = install_node_agent()
    if why_not is not None:
        pytest.fail(why_not)


@pytest.fixture
def upstream(harness: Harness) -> Iterator[Providers]:
    """The stand-in as harness's upstream, accepting only the invoker's (planted) keys."""
    with running_providers(standin_script(api_keys=[PLANTED_KEY])) as providers:
        harness.env.update(providers.upstream_env())
        harness.env.update(OPENAI_API_KEY=PLANTED_KEY, ANTHROPIC_API_KEY=PLANTED_KEY)
        yield providers


def forget_upstream(harness: Harness) -> None:
    """Replay needs neither keys nor upstream URLs: take them away."""
    for name in (
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "HARNESS_UPSTREAM_OPENAI_BASE_URL",
        "HARNESS_UPSTREAM_ANTHROPIC_BASE_URL",
    ):
        harness.env.pop(name, None)


def transcript(run: Run) -> dict[str, list[dict[str, Any]]]:
    """Each case's events in order (model calls, tool calls and results, the final output),
    without the times they happened at."""
    cases: dict[str, list[dict[str, Any]]] = {}
    for event in run.events():
        if "case_id" in event:
            kept = {key: value for key, value in event.items() if key not in VOLATILE}
            cases.setdefault(event["case_id"], []).append(kept)
    return cases


def outputs(run: Run) -> dict[str, Any]:
    return {
        case_id: event["output"]
        for case_id, events in transcript(run).items()
        for event in events
        if event["type"] == "final_output"
    }


def model_lines(suite: Path, case_id: str) -> list[dict[str, Any]]:
    return [
        line
        for line in cassette_lines(suite / "cassettes" / f"{case_id}.jsonl")
        if line.get("kind") == "model"
    ]


# The second replay costs a run per client: two clients (one per provider) show it.
REPLAYED_TWICE = {"openai-chat", "anthropic"}


@pytest.mark.parametrize("client", list(CLIENTS))
def test_every_client_records_then_replays_offline(
    client: str, harness: Harness, upstream: Providers, node_agent: None, tmp_path: Path
) -> None:
    suite = llm_suite(tmp_path / client, client, model_proxy={})
    recorded = harness.run(suite, "--mode", "record", *WORKERS, timeout_seconds=180)
    assert recorded.exit_code == 0, recorded.describe()
    forget_upstream(harness)

    replayed = run_offline(harness, suite, *WORKERS)

    assert replayed.exit_code == 0, replayed.describe()
    assert outputs(replayed) == outputs(recorded)
    variants = CLIENTS[client].variants
    assert set(outputs(replayed)) == set(variants)
    for case_id, output in outputs(replayed).items():
        assert output["tools_used"] == ["get_weather", "local_time"], (case_id, output)
        assert "09:30" in output["answer"] and output["answer"].endswith("☂️ Ha det bra!")
        events = transcript(replayed)[case_id]
        calls = [e for e in events if e["type"] in ("model_call", "tool_call")]
        kinds = [e["type"] for e in calls if e.get("path") != "/v1/messages/count_tokens"]
        assert kinds == ["model_call", "tool_call", "model_call", "tool_call", "model_call"]
        assert all(e["source"] == "replay" for e in calls if e["type"] == "model_call")
        streamed = [line for line in model_lines(suite, case_id) if "events" in line]
        assert len(streamed) == (3 if variants[case_id].get("stream") else 0)
    if client in REPLAYED_TWICE:
        again = run_offline(harness, suite, *WORKERS)
        assert again.exit_code == 0, again.describe()
        assert transcript(again) == transcript(replayed)
    assert_key_only_upstream(upstream, tmp_path)


def assert_key_only_upstream(upstream: Providers, written_under: Path) -> None:
    """Upstream got the invoker's key on every request and no placeholder; no file any run
    wrote (suite, cassettes, run directories, reports) holds the key."""
    assert upstream.received and {r.status for r in upstream.received} == {200}
    for request in upstream.received:
        credentials = request.headers.get("authorization", "") + request.headers.get(
            "x-api-key", ""
        )
        assert PLANTED_KEY in credentials
        assert "placeholder" not in json.dumps(request.headers)
    written = [path for path in written_under.rglob("*") if path.is_file()]
    assert any(path.suffix == ".jsonl" and "cassettes" in path.parts for path in written)
    leaked = [str(path) for path in written if PLANTED_KEY.encode() in path.read_bytes()]
    assert leaked == []


def one_case_suite(root: Path, case_id: str = "sync", **suite: Any) -> Path:
    """The openai chat agent's suite with one case, through the model proxy."""
    written = llm_suite(root, "openai-chat", model_proxy=suite.pop("model_proxy", {}), **suite)
    for other in (written / "cases").glob("*.yaml"):
        if other.stem != case_id:
            other.unlink()
    return written


def test_one_changed_word_in_a_prompt_is_a_model_miss_naming_the_path(
    harness: Harness, upstream: Providers, tmp_path: Path
) -> None:
    suite = one_case_suite(tmp_path / "suite")
    assert harness.run(suite, "--mode", "record").exit_code == 0
    case_file = suite / "cases" / "sync.yaml"
    case = yaml.safe_load(case_file.read_text(encoding="utf-8"))
    case["input"]["prompt"] = PROMPT.replace("weather", "forecast")
    case_file.write_text(yaml.safe_dump(case, sort_keys=False), encoding="utf-8")
    forget_upstream(harness)

    missed = run_offline(harness, suite)

    assert missed.exit_code == 1, missed.describe()
    (failure,) = missed.results_by_case()["sync"]["failures"]
    assert failure["type"] == "model_miss", failure
    assert failure["details"]["paths"] == ["$.messages[1].content"]
    assert failure["details"]["nearest"].endswith("sync.jsonl:2")  # the first model line
    assert '$.messages[1].content: expected "What is the weather' in failure["message"]
    assert 'got "What is the forecast' in failure["message"]
    (ended,) = missed.events_of("sync", "attempt_error")
    assert ended["failure_type"] == "model_miss"


def test_429s_while_recording_are_retried_by_harness_and_never_stored(
    harness: Harness, tmp_path: Path
) -> None:
    script = standin_script(api_keys=[PLANTED_KEY])
    busy = [
        msgspec.structs.replace(rule, fail_first=FailFirst(times=2, status=429))
        for rule in script.rules
    ]
    suite = one_case_suite(
        tmp_path / "suite", model_proxy={"retry": {"attempts": 4, "initial_backoff_ms": 10}}
    )
    with running_providers(msgspec.structs.replace(script, rules=busy)) as providers:
        harness.env.update(providers.upstream_env(), OPENAI_API_KEY=PLANTED_KEY)
        recorded = harness.run(suite, "--mode", "record")
        statuses = [r.status for r in providers.received]

    assert recorded.exit_code == 0, recorded.describe()
    # Each of the three model calls: 429, 429, then 200; the agent's SDK saw only the 200s.
    assert statuses == [429, 429, 200] * 3
    lines = model_lines(suite, "sync")
    assert [line["status"] for line in lines] == [200, 200, 200]
    assert "retry-after" not in json.dumps(lines)
    forget_upstream(harness)
    assert run_offline(harness, suite).exit_code == 0


def test_an_upstream_400_is_recorded_and_replayed_as_it_came(
    harness: Harness, tmp_path: Path
) -> None:
    refusal = ErrorSpec(
        400,
        "Invalid schema for function 'get_weather': 'city' is not valid.",
        param="tools[0].function.parameters",
        code="invalid_function_parameters",
    )
    script = load_script({"api_keys": [PLANTED_KEY]})
    script = msgspec.structs.replace(script, rules=[Rule("Oslo", [Turn(error=refusal)])])
    suite = one_case_suite(tmp_path / "suite")
    with running_providers(script) as providers:
        harness.env.update(providers.upstream_env(), OPENAI_API_KEY=PLANTED_KEY)
        recorded = harness.run(suite, "--mode", "record")
        assert [r.status for r in providers.received] == [400]  # no retry of the agent's fault
    assert recorded.exit_code == 0, recorded.describe()
    forget_upstream(harness)

    replayed = run_offline(harness, suite)

    assert replayed.exit_code == 0, replayed.describe()
    refused = outputs(replayed)["sync"]["refused"]
    assert refused == outputs(recorded)["sync"]["refused"]
    assert refused == {
        "status": 400,
        "body": {
            "message": refusal.message,
            "type": "invalid_request_error",
            "param": refusal.param,
            "code": refusal.code,
        },
    }
    (line,) = model_lines(suite, "sync")
    assert line["status"] == 400 and line["body"]["error"]["code"] == refusal.code


def test_the_llm_demo_replays_its_model_and_tool_calls_offline(harness: Harness) -> None:
    forget_upstream(harness)
    demo = run_offline(harness, SUITES / "llm-demo")

    assert demo.exit_code == 0, demo.describe()
    results = demo.results_by_case()
    assert set(results) == {
        "order_status",
        "damaged_refund",
        "late_refund",
        "unknown_order",
        "ships_to_norway",
    }
    for case_id, result in results.items():
        assert result["status"] == "pass", result
        assert result["tokens_out"] > 0 and result["cost_usd"] > 0, result
        kinds = {e["type"] for e in demo.events_of(case_id)}
        assert {"model_call", "tool_call", "tool_result", "final_output"} <= kinds
    (refund,) = demo.events_of("damaged_refund", "final_output")
    assert refund["output"]["actions"] == ["lookup_order", "search_policy", "issue_refund"]
