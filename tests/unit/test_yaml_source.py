"""harness.config.yaml_source: read_bytes reads a file whole, up to MAX_FILE_BYTES, even one
that grew after stat()."""

from __future__ import annotations

import os
from pathlib import Path, PosixPath
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.config import yaml_source
from harness.errors import ConfigError

CAP = 64


class _GrewAfterStat(PosixPath):
    """stat() reports the size the file had before something appended to it."""

    reported = 0

    def stat(self, *, follow_symlinks: bool = True) -> os.stat_result:
        real = super().stat(follow_symlinks=follow_symlinks)
        fields: list[Any] = list(real)
        fields[6] = min(real.st_size, self.reported)  # st_size
        return os.stat_result(fields)


@settings(max_examples=200, deadline=None)
@given(content=st.binary(max_size=2 * CAP), reported=st.integers(0, 2 * CAP))
def test_the_whole_file_up_to_the_cap(
    tmp_path_factory: pytest.TempPathFactory, content: bytes, reported: int
) -> None:
    path = tmp_path_factory.mktemp("read") / "case.yaml"
    path.write_bytes(content)
    original = yaml_source.MAX_FILE_BYTES
    yaml_source.MAX_FILE_BYTES = CAP
    try:
        if len(content) > CAP:
            with pytest.raises(ConfigError, match="is larger than"):
                yaml_source.read_bytes(path, "case.yaml")
        else:
            assert yaml_source.read_bytes(path, "case.yaml") == content
        grew = _GrewAfterStat(path)
        grew.reported = reported
        if min(len(content), reported) <= CAP:
            assert yaml_source.read_bytes(grew, "case.yaml") == content[:CAP]
    finally:
        yaml_source.MAX_FILE_BYTES = original


def test_a_real_file_reads_whole(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_bytes(b"suite_name: s\n" * 1000)
    assert yaml_source.read_bytes(path, "suite.yaml") == path.read_bytes()


# Nesting: one message of ours, whatever PyYAML release (or libyaml, or none) is installed.
Level = str  # "seq" or "map"


def nested_document(block: list[Level], flow: list[Level]) -> str:
    """`block` levels in block style, one a line (each child indented two more), then `flow`
    levels in flow style on the last line, around a plain scalar."""
    lines = []
    for depth, level in enumerate(block):
        lines.append(" " * (2 * depth) + ("-" if level == "seq" else f"k{depth}:"))
    inner = "x"
    for level in reversed(flow):
        inner = f"[{inner}]" if level == "seq" else f"{{f: {inner}}}"
    lines.append(" " * (2 * len(block)) + inner)
    return "\n".join(lines) + "\n"


def depth_of(value: Any) -> int:
    depth = 0
    while isinstance(value, (list, dict)):
        value = value[0] if isinstance(value, list) else next(iter(value.values()))
        depth += 1
    return depth


levels = st.lists(st.sampled_from(["seq", "map"]), max_size=yaml_source.MAX_DEPTH + 60)


@pytest.mark.parametrize("loader", ["libyaml", "pure-python"])
@settings(max_examples=60, deadline=None)
@given(block=levels, flow=levels)
def test_nesting_past_the_limit_is_our_one_message(
    loader: str, block: list[Level], flow: list[Level]
) -> None:
    original = yaml_source._LOADER
    if loader == "pure-python":
        yaml_source._LOADER = yaml.SafeLoader
    elif not yaml.__with_libyaml__:
        pytest.skip("PyYAML was built without libyaml")
    try:
        text = nested_document(block, flow)
        depth = len(block) + len(flow)
        if depth <= yaml_source.MAX_DEPTH:
            value, _ = yaml_source.parse_yaml(text, "deep.yaml")
            assert depth_of(value) == depth
            return
        with pytest.raises(ConfigError) as caught:
            yaml_source.parse_yaml(text, "deep.yaml")
        # The first collection past the limit: a block one starts its own line, flow ones
        # share the last line.
        line = min(yaml_source.MAX_DEPTH, len(block)) + 1
        assert caught.value.render() == f"deep.yaml:{line}: nested more than 200 levels deep"
    finally:
        yaml_source._LOADER = original


@pytest.mark.parametrize("depth", [201, 1_000, 30_000])
def test_deep_flow_nesting_on_one_line_never_reaches_the_parser(depth: int) -> None:
    text = "input: " + "[" * depth + "]" * depth + "\n"
    with pytest.raises(ConfigError) as caught:
        yaml_source.parse_yaml(text, "deep.yaml")
    assert caught.value.render() == "deep.yaml:1: nested more than 200 levels deep"
