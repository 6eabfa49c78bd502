"""`model_proxy:` in suite.yaml: the agent's own model calls go through harness, recorded and
replayed beside its tool calls (docs/model-cassettes.md). Types only; plan/ checks the values.
"""

from __future__ import annotations

from typing import Literal

import msgspec

MODEL_APIS = ("openai", "anthropic")
# The providers' public endpoints, each in its SDK's own convention (OpenAI's includes /v1).
DEFAULT_UPSTREAMS = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
}
UPSTREAM_ENV = {
    "openai": "HARNESS_UPSTREAM_OPENAI_BASE_URL",
    "anthropic": "HARNESS_UPSTREAM_ANTHROPIC_BASE_URL",
}
# Where the invoker's real keys are read (record, auto and live modes), never the agent's.
KEY_ENV = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
BASE_URL_ENV = {"openai": "OPENAI_BASE_URL", "anthropic": "ANTHROPIC_BASE_URL"}


class _Spec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    pass


class StreamScale(_Spec, frozen=True):
    """Replay a stream at the recorded pace times `scale` (0.5: twice as fast)."""

    scale: float


class ModelMatch(_Spec, frozen=True):
    # JSON paths into the request body left out of matching: `$.temperature`,
    # `openai:$.messages[*].name` (an `api:` prefix limits a path to one API).
    ignore_paths: list[str] = []


class ModelPrice(_Spec, frozen=True):
    """US dollars per million tokens."""

    input_usd_per_mtok: float = 0.0
    output_usd_per_mtok: float = 0.0


class ModelRetry(_Spec, frozen=True):
    """Retries of an upstream 429 / 5xx / transport failure while recording."""

    attempts: int = 4  # tries in all, the first one included
    initial_backoff_ms: int = 500  # the first wait; doubles each try, plus jitter
    max_backoff_ms: int = 8_000  # also the cap on an upstream's retry-after


class ModelProxySpec(_Spec, frozen=True):
    apis: list[str] = msgspec.field(default_factory=lambda: list(MODEL_APIS))
    # api -> base URL; default the provider's (or HARNESS_UPSTREAM_<API>_BASE_URL).
    upstreams: dict[str, str] = {}
    match: ModelMatch | None = None
    stream_timing: Literal["fast", "recorded"] | StreamScale = "fast"
    # `chaos`: replayed streams are written in pieces split at seeded random byte offsets.
    stream_chunking: Literal["event", "chaos"] = "event"
    chaos_seed: int = 0
    # model name (or the start of one: `gpt-4o` prices `gpt-4o-2024-08-06`) -> price.
    pricing: dict[str, ModelPrice] = {}
    timeout_ms: int = 600_000  # per upstream try, the whole response included
    retry: ModelRetry | None = None
