"""A run's model-proxy settings, resolved once before anything starts: upstream URLs (the
suite's, else HARNESS_UPSTREAM_<API>_BASE_URL, else the provider's), the invoker's keys,
matching, stream timing and chunking, prices and the upstream retry policy."""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping

import msgspec

from harness.cassette.ignore import IgnoreArgs
from harness.cassette.redact import Redactor
from harness.config.model_proxy import (
    DEFAULT_UPSTREAMS,
    KEY_ENV,
    UPSTREAM_ENV,
    ModelProxySpec,
    ModelRetry,
)
from harness.config.schema import RecordMode
from harness.errors import ConfigError, UsageError
from harness.proxy.normalize import RequestNormalizer
from harness.proxy.upstream import Upstream
from harness.proxy.usage import PriceList

# What the agent gets as its API keys: the SDKs insist on one, harness never gives it the real
# one (it is added when forwarding, in the modes that forward).
PLACEHOLDER_KEY = "harness-model-proxy-placeholder"


class ProxySettings(msgspec.Struct, frozen=True):
    mode: RecordMode
    strict: bool
    apis: tuple[str, ...]
    upstreams: Mapping[str, Upstream]
    normalizer: RequestNormalizer
    prices: PriceList
    timeout_seconds: float
    retry: ModelRetry
    timing_scale: float | None = None  # None: fast
    chaos_seed: int | None = None  # None: one write per event
    key_env: Mapping[str, str] = msgspec.field(default_factory=lambda: dict(KEY_ENV))

    @property
    def calls_upstream(self) -> bool:
        return self.mode is not RecordMode.replay


def proxy_settings(
    spec: ModelProxySpec,
    *,
    mode: RecordMode,
    strict: bool,
    redactor: Redactor,
    environ: Mapping[str, str] | None = None,
) -> ProxySettings:
    """Resolve `model_proxy:`.

    Raises:
        ConfigError: an HARNESS_UPSTREAM_<API>_BASE_URL that is not a URL.
        UsageError: record or live with the providers' endpoints and none of their keys.
    """
    environ = os.environ if environ is None else environ
    upstreams = {
        api: Upstream(api, _upstream_url(spec, api, environ), environ.get(KEY_ENV[api]) or None)
        for api in spec.apis
    }
    if mode in (RecordMode.record, RecordMode.live):
        _check_some_key(mode, upstreams)
    timing = spec.stream_timing
    return ProxySettings(
        mode=mode,
        strict=strict,
        apis=tuple(spec.apis),
        upstreams=upstreams,
        normalizer=RequestNormalizer(
            redactor, IgnoreArgs(spec.match.ignore_paths if spec.match else [])
        ),
        prices=PriceList(spec.pricing),
        timeout_seconds=spec.timeout_ms / 1000,
        retry=spec.retry or ModelRetry(),
        timing_scale=None if timing == "fast" else 1.0 if timing == "recorded" else timing.scale,
        chaos_seed=spec.chaos_seed if spec.stream_chunking == "chaos" else None,
    )


def _check_some_key(mode: RecordMode, upstreams: Mapping[str, Upstream]) -> None:
    """Every call of a record or live run goes to a provider: with no key for any of them,
    each would be refused (model_key_refused), so say so before any agent starts. A server of
    your own (model_proxy.upstreams, HARNESS_UPSTREAM_*) may need no key; one missing key
    among several may be an API the agent never calls."""
    if any(u.key or u.base_url != DEFAULT_UPSTREAMS[u.api] for u in upstreams.values()):
        return
    names = " or ".join(KEY_ENV[api] for api in upstreams)
    raise UsageError(
        f"--mode {mode.value}: model_proxy sends the agent's model calls to the providers and "
        f"{names} is not set; set it (replay needs no key)"
    )


def _upstream_url(spec: ModelProxySpec, api: str, environ: Mapping[str, str]) -> str:
    if api in spec.upstreams:
        return spec.upstreams[api]
    name = UPSTREAM_ENV[api]
    url = environ.get(name)
    if not url:
        return DEFAULT_UPSTREAMS[api]
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            None,
            f"{name}={url!r} is not an http:// or https:// URL with a host; "
            "fix it or unset it to use the provider's endpoint",
        )
    return url
