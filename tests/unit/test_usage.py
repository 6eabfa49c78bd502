"""harness.proxy.usage: tokens read from each provider's answers, streamed or not; prices."""

from __future__ import annotations

import json

import pytest

from harness.cassette.model_entry import SseEvent
from harness.config.model_proxy import ModelPrice
from harness.proxy.usage import PriceList, Usage, usage_of_body, usage_of_events


def events(*datas: object) -> list[SseEvent]:
    return [SseEvent(t_ms=0, data=json.dumps(d)) for d in datas] + [SseEvent(0, "[DONE]")]


def test_openai_chat_and_responses_bodies() -> None:
    chat = {"model": "gpt-x", "usage": {"prompt_tokens": 3, "completion_tokens": 4}}
    assert usage_of_body("openai", chat) == Usage(3, 4, "gpt-x")
    response = {"usage": {"input_tokens": 5, "output_tokens": 6}}
    assert usage_of_body("openai", response) == Usage(5, 6)
    assert usage_of_body("openai", {"error": {"message": "no"}}) == Usage()


def test_openai_streams() -> None:
    chat = events(
        {"choices": []}, {"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2}}
    )
    assert usage_of_events("openai", chat) == Usage(1, 2)
    responses = events(
        {"type": "response.created", "response": {"usage": None}},
        {
            "type": "response.completed",
            "response": {"usage": {"input_tokens": 7, "output_tokens": 8}},
        },
    )
    assert usage_of_events("openai", responses) == Usage(7, 8)


def test_anthropic_message_and_stream_running_totals() -> None:
    body = {
        "usage": {"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 3},
        "model": "claude-x",
    }
    assert usage_of_body("anthropic", body) == Usage(15, 3, "claude-x")
    stream = events(
        {"type": "message_start", "message": {"usage": {"input_tokens": 9, "output_tokens": 1}}},
        {"type": "message_delta", "usage": {"output_tokens": 4}},
        {"type": "message_delta", "usage": {"output_tokens": 12}},
    )
    assert usage_of_events("anthropic", stream) == Usage(9, 12)


def test_prices_by_name_then_longest_prefix() -> None:
    prices = PriceList(
        {
            "gpt-4o": ModelPrice(input_usd_per_mtok=2.5, output_usd_per_mtok=10),
            "gpt-4o-mini": ModelPrice(input_usd_per_mtok=0.15, output_usd_per_mtok=0.6),
        }
    )
    usage = Usage(1_000_000, 1_000_000)
    assert prices.cost(usage, "gpt-4o-2024-08-06") == pytest.approx(12.5)
    assert prices.cost(usage, "gpt-4o-mini-2024") == pytest.approx(0.75)
    assert prices.cost(usage, "claude") is None
    assert prices.cost(Usage(), "gpt-4o") is None
