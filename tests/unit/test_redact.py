"""Redaction: what counts as a secret, what is left alone, and matching after redaction."""

from __future__ import annotations

from harness.cassette.ignore import IgnoreArgs, parse_ignore_path
from harness.cassette.redact import MARKER_RE, Redactor, looks_secret_env_name
from harness.config.schema import RedactSpec

ENV = {
    "MY_SERVICE_TOKEN": "tok-9f8e7d6c5b4a",
    "PLAIN": "not-a-secret-value",
    "SHORT_KEY": "abc",
    "NAMED": "hunter22",
}


def redactor(spec: RedactSpec | None = None, env: dict[str, str] | None = None) -> Redactor:
    return Redactor(spec, ENV if env is None else env)


def test_env_values_named_or_key_like_are_secrets() -> None:
    r = redactor(RedactSpec(env=["NAMED"]))
    text = r.text("t=tok-9f8e7d6c5b4a p=hunter22 plain=not-a-secret-value short=abc")
    assert "tok-9f8e7d6c5b4a" not in text and "hunter22" not in text
    assert "not-a-secret-value" in text and "short=abc" in text


def test_env_name_heuristic() -> None:
    for name in ("OPENAI_API_KEY", "GITHUB_TOKEN", "DB_PASSWORD", "aws_secret_access_key"):
        assert looks_secret_env_name(name), name
    for name in ("SSH_AUTH_SOCK", "PWD", "PATH", "TOKENIZERS_PARALLELISM", "KEYBOARD"):
        assert not looks_secret_env_name(name), name


def test_patterns_keep_the_context_and_replace_the_secret() -> None:
    r = redactor(env={})
    samples = {
        "Authorization: Bearer abcdefghij123456": "Authorization: Bearer [REDACTED:",
        "key sk-ant-api03-abcdefghijklmnop": "key [REDACTED:",
        "ghp_" + "a" * 36: "[REDACTED:",
        "AKIAABCDEFGHIJKLMNOP": "[REDACTED:",
        "eyJhbGciOi.eyJzdWIiOiIx.SflKxwRJSMeK": "[REDACTED:",
        "xoxb-1234567890-abcdef": "[REDACTED:",
    }
    for raw, start in samples.items():
        assert r.text(raw).startswith(start), (raw, r.text(raw))


def test_secret_key_names_match_whole_keys_only() -> None:
    r = redactor(RedactSpec(keys=["X-Session"]), env={})
    value = {
        "api_key": "k1",
        "Api-Key": 1234,
        "token_count": 5,
        "get_token": "x",
        "x_session": "s",
        "password": None,
        "secret": {"nested": "kept shape"},
        "flag": {"password": True},
    }
    out = r.value(value)
    assert MARKER_RE.fullmatch(out["api_key"]) and MARKER_RE.fullmatch(out["Api-Key"])
    assert MARKER_RE.fullmatch(out["x_session"])
    assert out["token_count"] == 5 and out["get_token"] == "x" and out["password"] is None
    assert out["secret"] == {"nested": "kept shape"} and out["flag"] == {"password": True}


def test_markers_are_deterministic_per_secret_and_keyed() -> None:
    a, b = redactor(env={}), redactor(env={})
    assert a.marker("s1") == b.marker("s1") != a.marker("s2")
    keyed = Redactor(None, {"HARNESS_REDACTION_KEY": "pepper"})
    assert keyed.marker("s1") != a.marker("s1") and keyed.key_id and a.key_id is None


def test_redacted_args_still_match_exactly_never_as_wildcards() -> None:
    r = redactor(env={})
    recorded = r.value({"password": "A", "q": "x"})
    assert r.value({"password": "A", "q": "x"}) == recorded
    assert r.value({"password": "B", "q": "x"}) != recorded


def test_defaults_off_keeps_only_what_the_suite_names() -> None:
    r = redactor(RedactSpec(defaults=False, patterns=[r"id-(\d+)"]))
    assert r.text("sk-abcdefghijklmnopqrst tok-9f8e7d6c5b4a") == (
        "sk-abcdefghijklmnopqrst tok-9f8e7d6c5b4a"
    )
    assert r.text("user id-42").startswith("user id-[REDACTED:")


def test_stderr_lines_with_undecodable_bytes() -> None:
    r = redactor()
    line = b"\xff token tok-9f8e7d6c5b4a\n"
    out = r.line(line)
    assert out.startswith(b"\xff token [REDACTED:") and out.endswith(b"]\n")


def test_ignore_args_paths() -> None:
    assert parse_ignore_path("$.a.b[0]") == (None, ("a", "b", 0))
    assert parse_ignore_path("search:$.items[*].ts") == ("search", ("items", "*", "ts"))
    assert parse_ignore_path('$["odd key"]') == (None, ("odd key",))
    ignore = IgnoreArgs(["request_id", "search:$.items[*].ts", "$.list[1]"])
    args = {"request_id": 1, "q": "x", "items": [{"ts": 1, "a": 2}], "list": [0, 1, 2]}
    assert ignore.apply("search", args) == {"q": "x", "items": [{"a": 2}], "list": [0, 2]}
    assert ignore.apply("other", args)["items"] == [{"ts": 1, "a": 2}]
    assert args["request_id"] == 1  # the input is not changed
