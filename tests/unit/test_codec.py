"""The protocol codec: any bytes either decode to a message or raise our protocol error."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import AgentProtocolError
from harness.protocol.codec import decode_agent_line, encode_message
from harness.protocol.messages import (
    FinalOutput,
    Log,
    TaskErrorMessage,
    TaskStart,
    ToolCall,
    ToolResult,
    UsageReport,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@given(st.binary(max_size=300))
def test_any_bytes_decode_or_raise_protocol_error(data: bytes) -> None:
    try:
        decode_agent_line(data, 7)
    except AgentProtocolError as exc:
        assert "line 7" in exc.message


@given(st.text(max_size=50), st.text(max_size=10) | st.integers(), json_values)
def test_tool_call_round_trip(name: str, call_id: str | int, args: Any) -> None:
    line = json.dumps(
        {"type": "tool_call", "name": name, "call_id": call_id, "args": {"a": args}}
    ).encode()
    message = decode_agent_line(line, 1)
    assert message == ToolCall(name=name, call_id=call_id, args={"a": args})


@given(st.text())
def test_runner_messages_are_one_line_and_round_trip_any_unicode(text: str) -> None:
    line = encode_message(ToolResult(call_id="c1", ok=True, result={"t": text}, error=None))
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    decoded = json.loads(line.decode())
    assert decoded == {
        "type": "tool_result",
        "call_id": "c1",
        "ok": True,
        "result": {"t": text},
        "error": None,
    }


def test_task_start_omits_unset_extras() -> None:
    line = encode_message(TaskStart(task_id="t1", input={"q": 1}))
    assert json.loads(line) == {"type": "task_start", "task_id": "t1", "input": {"q": 1}}
    line = encode_message(TaskStart(task_id="t1", input={}, model="m", trial=2, seed=9))
    assert json.loads(line)["model"] == "m"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b'{"type":"final_output","output":{"a":1}}', FinalOutput(output={"a": 1})),
        (b'{"type":"log","message":"hi"}', Log(message="hi")),
        (b'{"type":"log","message":"hi","level":"info","extra":true}', Log("hi", "info")),
        (b'{"type":"task_error","message":"boom"}', TaskErrorMessage(message="boom")),
        (b'{"type":"usage","tokens_out":5}', UsageReport(tokens_out=5)),
        (b'{"type":"final_output","output":{},"usage":{"cost_usd":0.5}}', None),
    ],
)
def test_known_messages_decode(line: bytes, expected: object) -> None:
    message = decode_agent_line(line, 1)
    if expected is not None:
        assert message == expected
    else:
        assert isinstance(message, FinalOutput) and message.usage is not None
        assert message.usage.cost_usd == 0.5


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        (b"hello world", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (b'{"name": "x"}', "no `type` field"),
        (b'{"type": "progress"}', "unknown message type 'progress'"),
        (b'{"type": "tool_call", "call_id": "1", "args": {}}', "invalid tool_call message"),
        (b'{"type": "tool_call", "name": "a", "call_id": "1", "args": [1]}', "invalid tool_call"),
        (b'{"type": "final_output"}', "invalid final_output message"),
    ],
)
def test_bad_lines_name_the_problem_and_line(line: bytes, fragment: str) -> None:
    with pytest.raises(AgentProtocolError) as caught:
        decode_agent_line(line, 3)
    assert fragment in caught.value.message
    assert "line 3" in caught.value.message


def test_excerpt_is_bounded() -> None:
    with pytest.raises(AgentProtocolError) as caught:
        decode_agent_line(b"x" * 100_000, 1)
    assert len(caught.value.message) < 400


def test_messages_are_msgspec_structs() -> None:
    assert msgspec.json.decode(encode_message(ToolResult("c", False, None, "bad")))["ok"] is False
