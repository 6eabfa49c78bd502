"""Normalization: strip or rewrite volatile parts of tool results and final outputs.

RunLedger's semantics: strip_keys, then strip_paths, then replace_paths, then replace_text.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from harness.config.schema import Normalization

_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}
_REMOVED = object()  # sentinel: the path's target is gone
_Path = tuple[str, ...]


class Normalizer:
    """A normalization spec compiled once (regexes, paths) and applied to many values.

    Paths are dot-separated: `*` matches any key or list index, a number matches that list
    index (or a key spelled the same); empty segments are ignored, so an empty path does
    nothing. A path that leads nowhere leaves the value as it is.
    """

    def __init__(self, spec: Normalization | None) -> None:
        """Raises:
        ValueError: a replace_text pattern, replacement or flag is invalid.
        """
        spec = spec or Normalization()
        self._strip_keys = frozenset(spec.strip_keys)
        self._strip_paths = [p for p in map(_split, spec.strip_paths) if p]
        self._replace_paths = [(p, v) for p, v in _split_items(spec.replace_paths) if p]
        self._patterns = [
            _compile(index, rule.pattern, rule.replacement, rule.flags)
            for index, rule in enumerate(spec.replace_text)
        ]

    def apply(self, value: Any) -> Any:
        """A normalized copy of `value`; the input is never mutated.

        Untouched sub-values may be shared with the input.
        """
        if self._strip_keys:
            value = _strip_keys(value, self._strip_keys)
        for path in self._strip_paths:
            value = _remove(value, path)
        for path, replacement in self._replace_paths:
            value = _replace(value, path, replacement)
        if self._patterns:
            value = _replace_text(value, self._patterns)
        return value


def _split(path: str) -> _Path:
    return tuple(segment for segment in path.split(".") if segment)


def _split_items(paths: dict[str, Any]) -> list[tuple[_Path, Any]]:
    return [(_split(path), value) for path, value in paths.items()]


def _compile(
    index: int, pattern: str, replacement: str, flags: str | None
) -> tuple[re.Pattern[str], str]:
    where = f"normalization.replace_text[{index}]"
    value = 0
    for letter in (flags or "").lower():
        if letter not in _FLAGS:
            raise ValueError(f"{where}.flags: unknown flag {letter!r}; use i, m or s")
        value |= _FLAGS[letter]
    try:
        compiled = re.compile(pattern, value)
        # The replacement template is parsed on every sub() call, even without a match:
        # check it now so a bad `\9` fails at load time, not mid-run.
        compiled.sub(replacement, "")
    except re.error as exc:
        raise ValueError(f"{where}: invalid regular expression ({exc})") from None
    return compiled, replacement


def _strip_keys(value: Any, keys: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: _strip_keys(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [_strip_keys(item, keys) for item in value]
    return value


def _rebuild(value: Any, segment: str, change: Callable[[Any], Any]) -> Any:
    """`value` with `change` applied to each child `segment` selects; _REMOVED drops a child."""
    items: list[tuple[Any, Any]]
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        return value
    kept: list[tuple[Any, Any]] = []
    for key, child in items:
        selected = segment == "*" or segment == str(key)
        new = change(child) if selected else child
        if new is not _REMOVED:
            kept.append((key, new))
    if isinstance(value, dict):
        return dict(kept)
    return [child for _, child in kept]


def _remove(value: Any, path: _Path) -> Any:
    if len(path) == 1:
        return _rebuild(value, path[0], lambda _child: _REMOVED)
    return _rebuild(value, path[0], lambda child: _remove(child, path[1:]))


def _replace(value: Any, path: _Path, replacement: Any) -> Any:
    if len(path) == 1:
        # A fresh copy each time, so no two places (nor the spec) share a mutable value.
        return _rebuild(value, path[0], lambda _child: copy.deepcopy(replacement))
    return _rebuild(value, path[0], lambda child: _replace(child, path[1:], replacement))


def _replace_text(value: Any, patterns: list[tuple[re.Pattern[str], str]]) -> Any:
    if isinstance(value, str):
        for pattern, replacement in patterns:
            value = pattern.sub(replacement, value)
        return value
    if isinstance(value, dict):
        return {key: _replace_text(item, patterns) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace_text(item, patterns) for item in value]
    return value
