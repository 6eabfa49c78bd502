"""Assay trace files (harness.assay.traces): the three line formats, and traces that are
ambiguous, broken or any bytes at all."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.assay.traces import TraceError, read_trace
from harness.errors import ConfigError

pytestmark = pytest.mark.usefixtures("in_tmp")


def write_trace(*lines: dict[str, Any] | str) -> Path:
    path = Path("trace.jsonl")
    text = [line if isinstance(line, str) else json.dumps(line) for line in lines]
    path.write_text("\r\n".join(text) + "\n\n")
    return path


def test_the_three_line_formats() -> None:
    trace = read_trace(
        write_trace(
            {"prompt": "p1", "text": "r1", "tool": "t", "args": {"a": 1}},
            {
                "schema_version": 1,
                "type": "assay.trace",
                "request_id": "x",
                "prompt": "p2",
                "response": "r2",
                "meta": {"tool_calls": [{"tool_name": "u", "args": {}, "error": "boom"}]},
            },
            {
                "type": "episode_start",
                "episode_id": "e",
                "input": {"prompt": "p3"},
                "meta": {"test_id": "t3"},
            },
            {"type": "step", "episode_id": "e", "content": "draft"},
            {
                "type": "tool_call",
                "episode_id": "e",
                "step_id": "s",
                "tool_name": "v",
                "call_index": 0,
                "args": {},
                "error": {"code": 5},
            },
            {"type": "step", "episode_id": "e", "content": json.dumps({"completion": "final"})},
            {"type": "something_else"},
        )
    )
    first, second, third = trace.records
    assert (first.kind, first.response, [c.name for c in first.calls]) == ("legacy", "r1", ["t"])
    assert (second.kind, second.calls[0].failed) == ("v1", True)
    assert (third.kind, third.response, third.steps, third.test_id) == ("v2", "final", 2, "t3")
    assert third.calls[0].error == '{"code":5}'  # kept; Assay drops this call
    assert any("Assay drops this call" in w for w in trace.warnings)
    assert any("1 line(s) of other types ignored" in w for w in trace.warnings)
    assert trace.find("t3", "anything") is third
    assert trace.find("other", "p1") is first


def test_ambiguous_or_broken_traces_are_refused() -> None:
    same = {"prompt": "p", "response": "r"}
    with pytest.raises(TraceError, match=r"trace\.jsonl:2: a second record for the prompt 'p'"):
        read_trace(write_trace(same, same))
    with pytest.raises(TraceError, match=r"trace\.jsonl:2: not JSON"):
        read_trace(write_trace(same, "{oops"))
    orphan = {"type": "step", "episode_id": "nope"}
    with pytest.raises(TraceError, match="before its episode_start"):
        read_trace(write_trace(orphan))


@given(st.binary(max_size=300))
def test_any_bytes_read_or_raise_a_config_error(data: bytes) -> None:
    path = Path("fuzz.jsonl")
    path.write_bytes(data)
    with contextlib.suppress(ConfigError):
        read_trace(path)
