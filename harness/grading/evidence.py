"""Evidence that shows where two values part: a window of text around the first character that
differs (never two identical prefixes), and the JSON paths at which two values differ
(`actions[0].title: expected 'Call Ana', got 'Call Anna'`)."""

from __future__ import annotations

from typing import Any

import msgspec

from harness.excerpts import cut, redact

BEFORE = 30  # characters of context shown before the first difference
AFTER = 50  # and from it on
MAX_PATHS = 5  # differing paths named in one line of evidence


def first_difference(left: str, right: str) -> int:
    """The index of the first character where `left` and `right` differ (the shorter length
    when one is a prefix of the other)."""
    for index, (a, b) in enumerate(zip(left, right, strict=False)):
        if a != b:
            return index
    return min(len(left), len(right))


def window(text: str, index: int) -> str:
    """`text` around `index` as a quoted literal, with `…` where it is cut."""
    start, end = max(0, index - BEFORE), min(len(text), index + AFTER)
    shown = repr(text[start:end])
    head = "…" if start > 0 else ""
    tail = "…" if end < len(text) else ""
    return f"{head}{shown}{tail}"


def text_difference(expected: str, observed: str) -> str:
    """`first difference at character 117: expected …'the 4pm call'…, got …'the 5pm call'…`.
    Compared once redacted (harness.excerpts): a window must not cut a secret in two."""
    expected, observed = redact(expected), redact(observed)
    index = first_difference(expected, observed)
    where = f"character {index}"
    if index == len(observed) < len(expected):
        missing = len(expected) - index
        return f"output ends at {where}, {missing} short: expected {window(expected, index)}"
    if index == len(expected) < len(observed):
        return f"output goes on past {where}: got {window(observed, index)}"
    return (
        f"first difference at {where}: expected {window(expected, index)}, "
        f"got {window(observed, index)}"
    )


def json_differences(expected: Any, observed: Any, path: str = "") -> list[str]:
    """Every path at which two JSON values differ, as `path: expected X, got Y`; numbers compare
    by value (1 equals 1.0), `true` never equals 1, key order never matters."""
    if isinstance(expected, dict) and isinstance(observed, dict):
        found = []
        for key in expected:
            child = _child(path, key)
            if key not in observed:
                found.append(f"{child}: missing (expected {_short(expected[key])})")
            else:
                found += json_differences(expected[key], observed[key], child)
        found += [
            f"{_child(path, key)}: unexpected (got {_short(observed[key])})"
            for key in observed
            if key not in expected
        ]
        return found
    if isinstance(expected, list) and isinstance(observed, list):
        found = []
        for index, (left, right) in enumerate(zip(expected, observed, strict=False)):
            found += json_differences(left, right, f"{path}[{index}]")
        shared = min(len(expected), len(observed))
        found += [
            f"{path}[{index}]: missing (expected {_short(item)})"
            for index, item in enumerate(expected[shared:], start=shared)
        ]
        found += [
            f"{path}[{index}]: unexpected (got {_short(item)})"
            for index, item in enumerate(observed[shared:], start=shared)
        ]
        return found
    if _same_scalar(expected, observed):
        return []
    if (
        isinstance(expected, str)
        and isinstance(observed, str)
        and len(expected) + len(observed) > 80
    ):
        return [f"{path or '$'}: {text_difference(expected, observed)}"]
    return [f"{path or '$'}: expected {_short(expected)}, got {_short(observed)}"]


def describe_json_differences(expected: Any, observed: Any) -> str:
    """One line naming the first MAX_PATHS differing paths (and how many more)."""
    found = json_differences(expected, observed)
    shown = "; ".join(found[:MAX_PATHS])
    more = f"; ... and {len(found) - MAX_PATHS} more" if len(found) > MAX_PATHS else ""
    return f"output differs at {len(found)} path(s): {shown}{more}"


def elide_middle(text: str, limit: int = 160) -> str:
    """`text` as a quoted literal, its middle cut when long: both ends show (a regex that did
    not match may be about the start or the end of the output); redacted first."""
    text = redact(text)
    if len(text) <= limit:
        return repr(text)
    half = limit // 2
    return f"{text[:half]!r} … ({len(text) - 2 * half} characters) … {text[-half:]!r}"


def _same_scalar(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return float(left) == float(right)
    return type(left) is type(right) and bool(left == right)


def _child(path: str, key: str) -> str:
    plain = key.isidentifier()
    if not path:
        return key if plain else f"[{_short(key)}]"
    return f"{path}.{key}" if plain else f"{path}[{_short(key)}]"


def _short(value: Any, limit: int = 60) -> str:
    if isinstance(value, str):
        text = repr(value)
    else:
        try:
            text = msgspec.json.encode(value).decode()
        except (TypeError, msgspec.EncodeError):
            text = repr(value)
    return cut(text, limit)
