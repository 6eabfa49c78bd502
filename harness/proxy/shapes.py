"""The providers' routes, and the errors harness answers in each provider's own shape.

Errors carry `x-should-retry: false`: the official SDKs read it and do not retry, so a cassette
miss or a refused call reaches the agent at once instead of after several backoffs.
"""

from __future__ import annotations

from typing import Any

import msgspec

# (api, method, provider path) harness serves; anything else is a 404.
ROUTES = frozenset(
    {
        ("openai", "POST", "/v1/chat/completions"),
        ("openai", "POST", "/v1/responses"),
        ("openai", "GET", "/v1/models"),
        ("anthropic", "POST", "/v1/messages"),
        ("anthropic", "POST", "/v1/messages/count_tokens"),
    }
)
NO_RETRY = {"x-should-retry": "false"}
# Response headers a cassette keeps; every other one (cookies, rate-limit details, org ids) is
# dropped before anything is stored.
KEPT_RESPONSE_HEADERS = frozenset({"content-type", "x-request-id", "request-id", "retry-after"})
# Request headers forwarded upstream besides the key harness adds itself.
FORWARDED_REQUEST_HEADERS = frozenset(
    {"content-type", "accept", "anthropic-version", "anthropic-beta", "openai-beta"}
)
JSON = "application/json"

# HTTP status -> the type word each provider uses for it.
_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    404: "invalid_request_error",
    502: "api_error",
}
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    502: "api_error",
}


def error_body(api: str, status: int, message: str, kind: str | None = None) -> bytes:
    """An error body as `api` writes it. `kind` overrides the type (`cassette_miss`)."""
    if api == "anthropic":
        error_type = kind or _ANTHROPIC_TYPES.get(status, "api_error")
        document: dict[str, Any] = {
            "type": "error",
            "error": {"type": error_type, "message": message},
        }
    else:
        error_type = kind or _OPENAI_TYPES.get(status, "api_error")
        document = {"error": {"message": message, "type": error_type, "param": None, "code": kind}}
    return msgspec.json.encode(document)


def kept_headers(headers: Any) -> dict[str, str]:
    """The allow-listed response headers, names lower-cased."""
    return {
        name.lower(): value
        for name, value in headers.items()
        if name.lower() in KEPT_RESPONSE_HEADERS
    }
