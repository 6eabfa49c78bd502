"""Model cassettes against what real provider traffic does on the wire: upstream streams that
arrive gzipped and cut inside UTF-8 characters, replays cut at chaotic byte offsets for the
SDKs' own SSE parsers, and an upstream that stays overloaded while recording.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from tests.e2e.test_model_cassettes import (
    PLANTED_KEY,
    WORKERS,
    forget_upstream,
    model_lines,
    outputs,
)
from tests.support.cli_runs import Harness
from tests.support.llm_suites import llm_suite, standin_script
from tests.support.offline import run_offline, why_not_offline
from tests.support.providers import FailFirst, running_providers

pytestmark = pytest.mark.skipif(why_not_offline() is not None, reason=str(why_not_offline()))


def streamed_only(suite: Path) -> None:
    for case in (suite / "cases").glob("*.yaml"):
        if "stream" not in case.stem:
            case.unlink()


@pytest.mark.parametrize(
    "client",
    [
        "openai-chat",
        # the same path through the proxy for other stream shapes: make test runs one of them
        pytest.param("openai-responses", marks=pytest.mark.slow),
        pytest.param("anthropic", marks=pytest.mark.slow),
    ],
)
def test_gzipped_upstream_streams_record_and_replay_cut_at_chaotic_offsets(
    client: str, harness: Harness, tmp_path: Path
) -> None:
    script = standin_script(api_keys=[PLANTED_KEY], gzip_streams=True)
    proxy = {"stream_chunking": "chaos", "chaos_seed": 7}
    suite = llm_suite(tmp_path / client, client, model_proxy=proxy)
    streamed_only(suite)
    with running_providers(script) as providers:
        harness.env.update(providers.upstream_env())
        harness.env.update(OPENAI_API_KEY=PLANTED_KEY, ANTHROPIC_API_KEY=PLANTED_KEY)
        recorded = harness.run(suite, "--mode", "record", *WORKERS, timeout_seconds=180)
        asked_gzip = {"gzip" in r.headers.get("accept-encoding", "") for r in providers.received}
    assert recorded.exit_code == 0, recorded.describe()
    assert asked_gzip == {True}, "harness never asked for gzip: the stand-in sent plain streams"
    forget_upstream(harness)

    replayed = run_offline(harness, suite, *WORKERS)

    assert replayed.exit_code == 0, replayed.describe()
    assert outputs(replayed) == outputs(recorded)
    for case_id, output in outputs(replayed).items():
        assert output["answer"].endswith("☂️ Ha det bra!"), output
        lines = model_lines(suite, case_id)
        assert len(lines) == 3 and all("events" in line for line in lines)
        # stored decoded: event data is text, not gzip bytes
        assert all(event["data"].isprintable() for line in lines for event in line["events"])


def test_an_upstream_that_stays_overloaded_ends_the_attempt_and_stores_nothing(
    harness: Harness, tmp_path: Path
) -> None:
    script = standin_script(api_keys=[PLANTED_KEY])
    overloaded = [
        msgspec.structs.replace(rule, fail_first=FailFirst(times=100, status=529))
        for rule in script.rules
    ]
    proxy = {"retry": {"attempts": 3, "initial_backoff_ms": 10, "max_backoff_ms": 20}}
    suite = llm_suite(tmp_path / "suite", "anthropic", model_proxy=proxy)
    for case in (suite / "cases").glob("*.yaml"):
        if case.stem != "sync":
            case.unlink()
    with running_providers(msgspec.structs.replace(script, rules=overloaded)) as providers:
        harness.env.update(providers.upstream_env(), ANTHROPIC_API_KEY=PLANTED_KEY)
        run = harness.run(suite, "--mode", "record", "--max-retries", "0")
        statuses = [r.status for r in providers.received]

    assert run.exit_code != 0, run.describe()
    assert statuses == [529, 529, 529]  # harness's three tries; the agent's SDK retried none
    failure, not_written = run.results_by_case()["sync"]["failures"]
    assert failure["type"] == "model_upstream_error", failure
    assert "after 3 tries: HTTP 529" in failure["message"]
    assert not_written["type"] == "cassette_not_written"
    cassette = suite / "cassettes" / "sync.jsonl"
    assert not cassette.exists() or model_lines(suite, "sync") == []
