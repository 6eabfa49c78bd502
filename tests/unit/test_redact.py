"""Redaction (harness.cassette.redact): what counts as a secret, what is left alone, matching
after redaction; and, for any value, a planted secret never survives, redacting twice changes
nothing, and the fast screen never passes a value the walk would change."""

from __future__ import annotations

import string
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.cassette.redact import MARKER_RE, Redactor
from harness.cassette.secret_rules import DEFAULT_PATTERNS, PATTERN_HINTS, looks_secret_env_name
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


SECRET_ALPHABET = string.ascii_letters + string.digits + "-_./+="

secrets = st.text(SECRET_ALPHABET, min_size=8, max_size=40)

pattern_secrets = st.one_of(
    st.text(string.ascii_letters + string.digits, min_size=16, max_size=30).map(
        lambda s: "sk-" + s
    ),
    st.text(string.ascii_letters + string.digits, min_size=36, max_size=36).map(
        lambda s: "ghp_" + s
    ),
    st.text(string.ascii_uppercase + string.digits, min_size=16, max_size=16).map(
        lambda s: "AKIA" + s
    ),
)

texts = st.text(max_size=40)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["a", "token", "password", "q", "b-c"]) | texts, children, max_size=4
        )
    ),
    max_leaves=12,
)


def _plant(value: Any, secret: str, where: int, glue: str = "") -> Any:
    """`value` with `secret` inside a string somewhere (as a value, a key or a substring).
    Patterns need a word boundary around a secret (so `task-...` is no `sk-` key): `glue`."""
    choice = where % 4
    if choice == 0:
        return {"data": value, "note": f"x{glue}{secret}{glue}y"}
    if choice == 1:
        return [value, {secret: 1}]
    if choice == 2:
        return {"deep": [{"s": f"prefix {secret} suffix"}], "v": value}
    return f"{secret}"


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


@settings(max_examples=200, deadline=None)
@given(value=json_values, secret=secrets, where=st.integers(0, 3), extra=st.lists(secrets))
def test_a_planted_env_secret_never_survives(
    value: Any, secret: str, where: int, extra: list[str]
) -> None:
    env = {"PLANTED": secret, **{f"OTHER_{i}_TOKEN": s for i, s in enumerate(extra)}}
    redactor = Redactor(RedactSpec(env=["PLANTED"]), env)
    redacted = redactor.value(_plant(value, secret, where))
    assert not any(secret in text for text in _strings(redacted))


@settings(max_examples=200, deadline=None)
@given(value=json_values, secret=pattern_secrets, where=st.integers(0, 3))
def test_a_planted_pattern_secret_never_survives(value: Any, secret: str, where: int) -> None:
    redacted = Redactor(None, {}).value(_plant(value, secret, where, glue=" "))
    assert not any(secret in text for text in _strings(redacted))


@settings(max_examples=300, deadline=None)
@given(
    value=json_values,
    env_secret=secrets,
    patterns=st.lists(st.sampled_from([r"[0-9a-f]{4}", r"\bQ\w+", r"id-(\d+)", r"x"]), max_size=2),
)
def test_redaction_is_idempotent(value: Any, env_secret: str, patterns: list[str]) -> None:
    redactor = Redactor(RedactSpec(env=["S"], patterns=patterns), {"S": env_secret})
    once = redactor.value(value)
    assert redactor.value(once) == once
    text = " ".join(_strings(value)) + f" {env_secret} Bearer abcdefgh12345678 sk-{'a' * 20}"
    assert redactor.text(redactor.text(text)) == redactor.text(text)


ascii_texts = st.text(string.printable, max_size=30)

screen_values = st.recursive(
    st.none() | st.booleans() | st.integers() | ascii_texts | pattern_secrets | secrets,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["a", "Token", "API-KEY", "api_key_id", "b-c", "Bearer"]) | ascii_texts,
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(
    value=screen_values,
    env_secret=secrets,
    patterns=st.lists(
        st.sampled_from([r"[0-9a-f]{4}", r"\bQ\w+", r"id-(\d+)", r"^start", r"x$", r"(?<=a)b"]),
        max_size=2,
    ),
    keys=st.booleans(),
)
def test_the_fast_screen_never_passes_a_value_the_walk_would_change(
    value: Any, env_secret: str, patterns: list[str], keys: bool
) -> None:
    """`clean()` may say "not proven" too often, never "clean" for a value with a secret."""
    redactor = Redactor(RedactSpec(env=["S"], patterns=patterns), {"S": env_secret})
    if redactor.clean(value, keys=keys):
        assert redactor.walk(value, keys=keys) == value
    planted = {"note": f"a {env_secret} b", "v": value}
    assert not redactor.clean(planted)


def test_the_screen_lets_plain_trace_events_through_unchanged() -> None:
    events = [
        {"type": "task_start", "task_id": "t1", "input": {"q": "refund for order 42"}},
        {"type": "tool_call", "name": "lookup", "args": {"token_count": 3, "n": 1}},
    ]
    redactor = Redactor(None, {})
    assert redactor.clean(events)
    assert redactor.value(events) is events
    assert not redactor.clean([{"args": {"Api-Key": "abc"}}])
    assert not redactor.clean([{"q": "Bearer abcdefgh12345678"}])


@settings(max_examples=60)
@given(st.data())
def test_every_default_pattern_needs_one_of_its_hint_literals(data: st.DataObject) -> None:
    """The screens skip a pattern when none of its literals is in the text: every text the
    pattern matches must hold one (in the case-folded text for folded hints)."""
    for pattern in DEFAULT_PATTERNS:
        literals, folded = PATTERN_HINTS[pattern]
        text = data.draw(st.from_regex(pattern), label=pattern)
        haystack = text.casefold() if folded else text
        assert any(literal in haystack for literal in literals), (pattern, text)


@given(
    st.dictionaries(
        st.sampled_from(["weight", "Token", "api-KEY", "x_api_key", "note", "Authorization"]),
        st.text(string.ascii_letters + string.digits + "_-/ ", max_size=40),
        max_size=4,
    )
)
def test_clean_never_vouches_for_a_value_the_walk_would_change(value: dict[str, str]) -> None:
    """clean() is a screen for value(): whenever it says clean, redacting changes nothing."""
    redactor = Redactor(RedactSpec(), {})
    if redactor.clean(value):
        assert redactor.walk(value) == value
