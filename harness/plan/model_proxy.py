"""Checks of `model_proxy:` that msgspec cannot express, each problem at its line."""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Callable

from harness.cassette.ignore import parse_ignore_path
from harness.config.model_proxy import MODEL_APIS, ModelProxySpec, ModelRetry
from harness.config.yaml_source import Document, Problems

_ROOT = "$.model_proxy"
_Add = Callable[[str, str], None]


def upstream_problem(url: str) -> str | None:
    """Why `url` cannot be an upstream base URL, or None."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"must be an http:// or https:// URL with a host, got {url!r}"
    if parts.query or parts.fragment:
        return f"must not have a query or fragment, got {url!r}"
    return None


def check_model_proxy(document: Document, spec: ModelProxySpec | None, problems: Problems) -> None:
    if spec is None:
        return

    def add(path: str, message: str) -> None:
        problems.add(document.error(message, f"{_ROOT}{path}"))

    valid = ", ".join(MODEL_APIS)
    if not spec.apis:
        add(".apis", f"must name at least one API ({valid}), or remove model_proxy")
    for i, api in enumerate(spec.apis):
        if api not in MODEL_APIS:
            add(f".apis[{i}]", f"unknown API {api!r}; valid: {valid}")
        elif api in spec.apis[:i]:
            add(f".apis[{i}]", f"{api!r} is listed twice")
    for api, url in spec.upstreams.items():
        if api not in spec.apis:
            add(f".upstreams.{api}", f"{api!r} is not in apis ({', '.join(spec.apis)})")
        elif (problem := upstream_problem(url)) is not None:
            add(f".upstreams.{api}", problem)
    for i, path in enumerate(spec.match.ignore_paths if spec.match else []):
        try:
            only, _ = parse_ignore_path(path)
        except ValueError as exc:
            add(f".match.ignore_paths[{i}]", str(exc))
            continue
        if only is not None and only not in MODEL_APIS:
            add(f".match.ignore_paths[{i}]", f"unknown API prefix {only!r}; valid: {valid}")
    timing = spec.stream_timing
    if not isinstance(timing, str) and not (math.isfinite(timing.scale) and timing.scale > 0):
        add(".stream_timing.scale", f"must be a number greater than 0, got {timing.scale}")
    for model, price in spec.pricing.items():
        for field in ("input_usd_per_mtok", "output_usd_per_mtok"):
            value = getattr(price, field)
            if not (math.isfinite(value) and value >= 0):
                add(f".pricing.{model}.{field}", f"must be 0 or more, got {value}")
    if spec.timeout_ms <= 0:
        add(".timeout_ms", f"must be greater than 0, got {spec.timeout_ms}")
    if spec.retry is not None:
        _check_retry(add, spec.retry)


def _check_retry(add: _Add, retry: ModelRetry) -> None:
    if retry.attempts < 1:
        add(".retry.attempts", f"must be 1 or more (tries in all), got {retry.attempts}")
    if retry.initial_backoff_ms < 0:
        add(".retry.initial_backoff_ms", "must be 0 or more")
    if retry.max_backoff_ms < retry.initial_backoff_ms:
        add(".retry.max_backoff_ms", "must be at least initial_backoff_ms")
