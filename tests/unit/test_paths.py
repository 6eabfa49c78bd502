"""Paths and durations in grader specs (harness.config.paths): durations carry units, relative
paths never leave their root."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.config.paths import PathEscapeError, check_relative, inside, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("2m", 120), ("500ms", 0.5), ("1h", 3600), (5, 5)]
)
def test_parse_duration(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["30", "2 minutes", "-1s", "0s", True])
def test_parse_duration_refuses(text: Any) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize("path", ["../x", "a/../../b", "/etc/passwd", "a\\..\\b", "C:/x", ""])
def test_relative_paths_refuse_escapes(path: str) -> None:
    with pytest.raises(PathEscapeError):
        check_relative(path)


@given(st.lists(st.sampled_from(["a", "b", "..", "."]), min_size=1, max_size=6))
def test_inside_never_leaves_the_root(parts: list[str]) -> None:
    root = Path("/tmp/harness-root-that-need-not-exist")
    try:
        target = inside(root, "/".join(parts))
    except PathEscapeError:
        assert ".." in parts
        return
    assert target == root or root in target.parents
