"""Token usage read from the providers' own answers, and its cost from the suite's prices.

OpenAI: `usage` of a chat completion (prompt_tokens / completion_tokens) or of a response
(input_tokens / output_tokens); streamed, the chunk that carries `usage` (chat, with
`stream_options.include_usage`) or `response.completed`'s response. Anthropic: `usage` of a
message; streamed, `message_start`'s message usage, then `message_delta`'s, whose counts are
running totals (the last one wins). Input tokens include cache reads and writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from harness.cassette.model_entry import SseEvent
from harness.config.model_proxy import ModelPrice

_ANTHROPIC_INPUTS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


class Usage(msgspec.Struct, frozen=True):
    tokens_in: int | None = None
    tokens_out: int | None = None
    model: str | None = None  # as the answer names it

    @property
    def empty(self) -> bool:
        return self.tokens_in is None and self.tokens_out is None


def usage_of_body(api: str, body: Any) -> Usage:
    """The usage a non-streamed answer reports (nothing for errors and token counts)."""
    if not isinstance(body, dict) or not isinstance(body.get("usage"), dict):
        return Usage()
    usage = body["usage"]
    model = body.get("model") if isinstance(body.get("model"), str) else None
    if api == "anthropic":
        return Usage(_sum(usage, _ANTHROPIC_INPUTS), _int(usage.get("output_tokens")), model)
    tokens_in = _int(usage.get("prompt_tokens", usage.get("input_tokens")))
    tokens_out = _int(usage.get("completion_tokens", usage.get("output_tokens")))
    return Usage(tokens_in, tokens_out, model)


def usage_of_events(api: str, events: Iterable[SseEvent]) -> Usage:
    """The usage a stream reports, read from the events that carry it."""
    found = Usage()
    for event in events:
        if '"usage"' not in event.data:
            continue  # most events carry none: skip the decode
        try:
            data = msgspec.json.decode(event.data)
        except msgspec.DecodeError:
            continue
        if not isinstance(data, dict):
            continue
        found = _merge(found, _usage_in_event(api, data))
    return found


def _usage_in_event(api: str, data: dict[str, Any]) -> Usage:
    if api == "anthropic":
        kind = data.get("type")
        if kind == "message_start":
            return usage_of_body(api, data.get("message"))
        if kind == "message_delta" and isinstance(data.get("usage"), dict):
            usage = data["usage"]
            return Usage(_sum(usage, _ANTHROPIC_INPUTS), _int(usage.get("output_tokens")))
        return Usage()
    if isinstance(data.get("response"), dict):  # responses API: response.completed
        return usage_of_body(api, data["response"])
    return usage_of_body(api, data)


def _merge(old: Usage, new: Usage) -> Usage:
    """Later reports are running totals: they replace what they name."""
    return Usage(
        new.tokens_in if new.tokens_in is not None else old.tokens_in,
        new.tokens_out if new.tokens_out is not None else old.tokens_out,
        new.model or old.model,
    )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _sum(usage: dict[str, Any], names: tuple[str, ...]) -> int | None:
    values = [v for name in names if (v := _int(usage.get(name))) is not None]
    return sum(values) if values else None


class PriceList:
    """`model_proxy.pricing`: a model's price is under its own name, else under the longest
    name it starts with (`gpt-4o` prices `gpt-4o-2024-08-06`)."""

    def __init__(self, pricing: Mapping[str, ModelPrice]) -> None:
        self._prices = dict(pricing)
        self._by_length = sorted(self._prices, key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self._prices)

    def price_of(self, model: str | None) -> ModelPrice | None:
        if model is None:
            return None
        if model in self._prices:
            return self._prices[model]
        for name in self._by_length:
            if model.startswith(name):
                return self._prices[name]
        return None

    def cost(self, usage: Usage, model: str | None) -> float | None:
        """US dollars, or None when the model has no price or nothing was counted."""
        price = self.price_of(model)
        if price is None or usage.empty:
            return None
        return (
            (usage.tokens_in or 0) * price.input_usd_per_mtok
            + (usage.tokens_out or 0) * price.output_usd_per_mtok
        ) / 1_000_000
