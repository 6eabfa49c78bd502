"""Typed protocol messages. The wire tag is set explicitly so a class rename never changes it.

Runner -> agent: `task_start`, `tool_result`.
Agent -> runner: `tool_call`, `final_output`, `log`, `task_error`, `usage`, and `hello` as the
agent's first line when it opts into protocol 2 (docs/protocol.md).
Unknown fields on agent messages are accepted (forward compatible); unknown types are not.
"""

from __future__ import annotations

from typing import Any

import msgspec

PROTOCOL_VERSION = 2  # the highest the runner speaks; 1 needs no hello (docs/protocol.md)

CallId = str | int


class Usage(msgspec.Struct, omit_defaults=True):
    """Token and cost figures an agent may report, on `final_output` or as a `usage` message."""

    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: float | None = None


# Runner -> agent ---------------------------------------------------------------------------


class TaskStart(msgspec.Struct, tag_field="type", tag="task_start", omit_defaults=True):
    task_id: str
    input: Any
    # Optional extras; omitted from the wire when unset so RunLedger-era agents see exactly
    # the two fields they expect.
    model: str | None = None
    trial: int | None = None
    seed: int | None = None
    protocol_version: int | None = None


class ToolResult(msgspec.Struct, tag_field="type", tag="tool_result"):
    # `result` and `error` are always written, as RunLedger does: agents index them directly.
    call_id: CallId
    ok: bool
    result: Any = None
    error: str | None = None


# Agent -> runner ---------------------------------------------------------------------------


class Hello(msgspec.Struct, tag_field="type", tag="hello"):
    """Sent first by an agent that speaks protocol 2: what it can do beyond protocol 1."""

    protocol: int
    capabilities: list[str] = []


class ToolCall(msgspec.Struct, tag_field="type", tag="tool_call"):
    name: str
    call_id: CallId
    args: dict[str, Any] = {}


class FinalOutput(msgspec.Struct, tag_field="type", tag="final_output"):
    output: Any
    usage: Usage | None = None


class Log(msgspec.Struct, tag_field="type", tag="log"):
    message: str
    level: str | None = None
    data: Any = None


class TaskErrorMessage(msgspec.Struct, tag_field="type", tag="task_error"):
    message: str
    data: Any = None


class UsageReport(msgspec.Struct, tag_field="type", tag="usage"):
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: float | None = None


AgentMessage = ToolCall | FinalOutput | Log | TaskErrorMessage | UsageReport | Hello
RunnerMessage = TaskStart | ToolResult

AGENT_MESSAGE_TYPES = ("tool_call", "final_output", "log", "task_error", "usage", "hello")

# Capability of protocol 2: the agent serves one task_start after another in one process.
MULTI_TASK = "multi_task"
