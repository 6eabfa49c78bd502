"""harness.proxy.normalize and harness.proxy.replay: key order never matters, volatile fields
never matter, a miss always names a differing path, entries are consumed in order."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from harness.cassette.gateway import RecordedModel
from harness.cassette.ignore import IgnoreArgs
from harness.cassette.model_entry import ModelEntry
from harness.cassette.redact import Redactor
from harness.proxy.normalize import RequestNormalizer, request_digest
from harness.proxy.replay import ModelCassette, ModelRequest
from tests.support.strategies import PROPS, json_args

NORMALIZER = RequestNormalizer(Redactor(environ={}), IgnoreArgs(["openai:$.seed"]))


def shuffled(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: shuffled(v, rng) for k, v in items}
    if isinstance(value, list):
        return [shuffled(item, rng) for item in value]
    return value


def request(body: Any, api: str = "openai", path: str = "/v1/chat/completions") -> ModelRequest:
    stored = NORMALIZER.stored(body)
    key = NORMALIZER.key(api, stored)
    return ModelRequest(api, "POST", path, stored, key, request_digest("POST", path, key))


def cassette(*bodies: Any, api: str = "openai") -> ModelCassette:
    recorded = [
        RecordedModel(
            ModelEntry(
                api, "POST", "/v1/chat/completions", NORMALIZER.stored(b), 200, body={"n": i}
            ),
            f"c.jsonl:{i + 1}",
        )
        for i, b in enumerate(bodies)
    ]
    return ModelCassette(recorded, NORMALIZER)


@PROPS
@given(json_args, st.integers())
def test_key_order_never_matters(body: dict[str, Any], seed: int) -> None:
    assert request(body).digest == request(shuffled(body, random.Random(seed))).digest


# Two JSON documents an example: drawing them is most of the cost, so fewer examples.
PAIRS = settings(max_examples=50, deadline=None)


@PAIRS
@given(json_args, json_args)
def test_volatile_fields_and_cache_markers_never_matter(
    body: dict[str, Any], noise: dict[str, Any]
) -> None:
    noisy = {
        **body,
        "metadata": noise,
        "user": "u-123",
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "hi", "cache_control": {"type": "ephemeral"}}],
    }
    plain = {**body, "messages": [{"role": "user", "content": "hi"}]}
    assert request(noisy).digest == request(plain).digest


@PAIRS
@given(json_args, json_args)
def test_a_miss_always_names_a_differing_path(
    recorded: dict[str, Any], asked: dict[str, Any]
) -> None:
    model = cassette(recorded)
    incoming = request(asked)
    assume(model.take(incoming) is None)
    message, details = model.miss(incoming, "c.jsonl")
    assert details["paths"], message
    assert details["nearest"] == "c.jsonl:1"


def test_changed_word_names_its_path() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}
    model = cassette(body)
    changed = request({"model": "m", "messages": [{"role": "user", "content": "hullo"}]})
    assert model.take(changed) is None
    message, details = model.miss(changed, "c.jsonl")
    assert details["paths"] == ["$.messages[0].content"]
    assert '$.messages[0].content: expected "hello", got "hullo"' in message


def test_identical_calls_consume_in_order_and_out_of_order_is_flagged() -> None:
    a, b = {"q": "a"}, {"q": "b"}
    model = cassette(a, b, a)
    first = model.take(request(a))
    assert first is not None and first.recorded.where == "c.jsonl:1" and not first.out_of_order
    second = model.take(request(a))  # the next unused is b: a's twin further on is taken
    assert second is not None and second.recorded.where == "c.jsonl:3" and second.out_of_order
    third = model.take(request(b))
    assert third is not None and not third.out_of_order
    assert model.take(request(a)) is None  # past the recorded calls: a miss, never a repeat
    assert model.unused() == []


def test_ignore_paths_and_apis_are_separate() -> None:
    model = cassette({"q": 1, "seed": 1})
    assert model.take(request({"q": 1, "seed": 99})) is not None  # openai:$.seed is ignored
    other = cassette({"q": 1}, api="anthropic")
    assert other.take(request({"q": 1})) is None  # an openai call never takes anthropic's


def test_secrets_are_matched_redacted() -> None:
    normalizer = RequestNormalizer(Redactor(environ={"MY_API_KEY": "s3cr3t-value-1"}), None)
    stored = normalizer.stored({"messages": [{"content": "key s3cr3t-value-1"}]})
    assert "s3cr3t" not in str(stored)
    assert normalizer.stored({"messages": [{"content": "key s3cr3t-value-1"}]}) == stored
