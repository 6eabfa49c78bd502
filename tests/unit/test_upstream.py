"""What a refused key says: the endpoint, the provider's error code (never its message, which
may quote part of the key) and the variable to set."""

from __future__ import annotations

from harness.proxy.upstream import Upstream

OPENAI_401 = {
    "error": {
        "message": "Incorrect API key provided: sk-wron*****WWWW.",
        "type": "invalid_request_error",
        "code": "invalid_api_key",
    }
}
ANTHROPIC_403 = {
    "type": "error",
    "error": {"type": "permission_error", "message": "no access to claude-opus"},
}


def test_a_wrong_key_names_the_endpoint_the_code_and_the_variable() -> None:
    upstream = Upstream("openai", "https://user:secret@api.openai.com/v1?x=1", "sk-wrong")
    message = upstream.key_refused(401, OPENAI_401, "OPENAI_API_KEY")
    assert message == (
        "openai upstream https://api.openai.com/v1 refused the key in OPENAI_API_KEY "
        "(HTTP 401 invalid_api_key): set OPENAI_API_KEY to a valid key"
    )
    assert "secret" not in message and "WWWW" not in message


def test_a_forbidden_key_asks_for_one_with_access() -> None:
    upstream = Upstream("anthropic", "https://api.anthropic.com", "sk-ant-1")
    message = upstream.key_refused(403, ANTHROPIC_403, "ANTHROPIC_API_KEY")
    assert "(HTTP 403 permission_error)" in message
    assert message.endswith("set ANTHROPIC_API_KEY to a key allowed to use this model and route")


def test_no_key_says_the_variable_is_not_set() -> None:
    upstream = Upstream("anthropic", "http://127.0.0.1:8080", None)
    message = upstream.key_refused(401, "not json at all", "ANTHROPIC_API_KEY")
    assert message == (
        "anthropic upstream http://127.0.0.1:8080 refused a call without a key (HTTP 401): "
        "ANTHROPIC_API_KEY is not set; set it to record (replay needs no key)"
    )
