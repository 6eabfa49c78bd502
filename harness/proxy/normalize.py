"""What a model request is matched on: the JSON body without its volatile fields and the
user's `ignore_paths`, redacted, keys sorted. Never fuzzy: two requests match when these bytes
are equal.

Dropped everywhere: `metadata`, `user`, `stream_options`, `prompt_cache_key`,
`safety_identifier` at the top level, and `cache_control` markers at any depth. They change
from run to run (ids, cache hints) without changing what the model is asked. Everything else
stays: model, messages / input / system, tools, tool_choice, sampling parameters, `stream`.
"""

from __future__ import annotations

import hashlib
from typing import Any

from harness.cassette.ignore import IgnoreArgs
from harness.cassette.matching import canonical_args
from harness.cassette.redact import Redactor

VOLATILE_FIELDS = frozenset(
    {"metadata", "user", "stream_options", "prompt_cache_key", "safety_identifier"}
)
CACHE_MARKERS = frozenset({"cache_control"})


class RequestNormalizer:
    """Normalises request bodies for storage (`stored`) and for matching (`key`)."""

    def __init__(self, redactor: Redactor | None, ignore: IgnoreArgs | None) -> None:
        self.redactor = redactor
        self.ignore = ignore if ignore else None

    def stored(self, body: Any) -> Any:
        """The request as a cassette keeps it: volatile fields dropped, secrets redacted."""
        body = drop_volatile(body)
        if self.redactor is not None:
            body = self.redactor.value(body)
        return body

    def key(self, api: str, stored: Any) -> Any:
        """What matching compares of a stored (or just normalised) request: `ignore_paths`
        applied now, so changing them never needs a re-recording."""
        if self.ignore is not None and isinstance(stored, dict):
            return self.ignore.apply(api, stored)
        return stored


def drop_volatile(body: Any) -> Any:
    """A copy of `body` without the volatile fields (the input is not changed)."""
    if not isinstance(body, dict):
        return body
    return {
        key: _without_markers(value) for key, value in body.items() if key not in VOLATILE_FIELDS
    }


def _without_markers(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_markers(v) for k, v in value.items() if k not in CACHE_MARKERS}
    if isinstance(value, list):
        return [_without_markers(item) for item in value]
    return value


def request_digest(method: str, path: str, key: Any) -> str:
    """The identity of a request: method, path and its matching key, canonical (key order
    never matters, 1 == 1.0)."""
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    digest.update(canonical_args(key))
    return digest.hexdigest()
