"""What graders look at: the final output and the tool calls of one attempt, read one way.

A harness trace (run.jsonl events) and an Assay trace file both become a `GradingContext`, so
every check sees the same ordered call list whichever way the attempt was recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

# Trace events that are messages the agent sent: what `trace_max_steps` counts.
STEP_EVENTS = frozenset({"tool_call", "final_output", "log", "task_error"})


@dataclass(frozen=True)
class ToolCall:
    """One tool call and, when it was answered, its result."""

    name: str
    args: Any
    index: int  # 0-based position in the attempt's calls
    call_id: Any = None
    ok: bool | None = None  # None: never answered (refused, or the attempt ended first)
    result: Any = None
    error: Any = None

    @property
    def failed(self) -> bool:
        """The tool reported an error: `ok: false`, or an error value beside the result."""
        return self.ok is False or (self.error is not None and self.error != "")


@dataclass(frozen=True)
class JudgeSettings:
    """Run-wide judge overrides from the command line."""

    model: str | None = None
    samples: int | None = None


@dataclass(frozen=True)
class GradingContext:
    """Everything a grader may read about one attempt."""

    output: Any
    calls: tuple[ToolCall, ...] = ()
    steps: int = 0
    input: Any = None
    case_id: str = ""
    #: The attempt's workspace folder, when the case has one and it still exists.
    workspace: Path | None = None
    #: Why there is no workspace although the case declares one (for the graders' evidence).
    workspace_note: str | None = None
    judge: JudgeSettings = field(default_factory=JudgeSettings)
    #: json_schema documents by absolute path (RunLedger's assertion loads them at load time).
    schemas: Mapping[str, Any] = field(default_factory=dict)
    #: An Assay trace record's `meta` (precomputed judge results, embeddings).
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def call_names(self) -> list[str]:
        return [call.name for call in self.calls]

    def calls_of(self, tool: str | None) -> list[ToolCall]:
        return [call for call in self.calls if tool is None or call.name == tool]

    def output_text(self) -> str:
        """The output as text: a string as is, any other JSON value as compact JSON."""
        return output_text(self.output)


def output_text(output: Any) -> str:
    if isinstance(output, str):
        return output
    try:
        return msgspec.json.encode(output).decode()
    except (TypeError, msgspec.EncodeError):
        return str(output)


def calls_from_events(events: Iterable[Mapping[str, Any]]) -> tuple[list[ToolCall], int]:
    """The tool calls of a harness trace, each paired with its result by call id, and the
    number of agent messages (steps). Calls keep the order the agent made them in."""
    calls: list[dict[str, Any]] = []
    pending: dict[str, int] = {}
    steps = 0
    for event in events:
        kind = event.get("type")
        if kind in STEP_EVENTS:
            steps += 1
        if kind == "tool_call":
            pending[_key(event.get("call_id"))] = len(calls)
            calls.append({"name": str(event.get("name")), "args": event.get("args")})
            calls[-1]["call_id"] = event.get("call_id")
        elif kind == "tool_result":
            position = pending.pop(_key(event.get("call_id")), None)
            if position is not None:
                calls[position].update(
                    ok=bool(event.get("ok")), result=event.get("result"), error=event.get("error")
                )
    return [ToolCall(index=i, **call) for i, call in enumerate(calls)], steps


def context_from_events(
    events: Iterable[Mapping[str, Any]], **fields: Any
) -> tuple[GradingContext | None, list[ToolCall]]:
    """A context for a harness trace; None when the agent never sent final_output (nothing
    to grade). The calls are returned either way."""
    events = list(events)
    calls, steps = calls_from_events(events)
    finals = [event for event in events if event.get("type") == "final_output"]
    starts = [event for event in events if event.get("type") == "task_start"]
    if not finals:
        return None, calls
    task_input = starts[0].get("input") if starts else None
    fields.setdefault("input", task_input)
    context = GradingContext(
        output=finals[-1].get("output"), calls=tuple(calls), steps=steps, **fields
    )
    return context, calls


def _key(call_id: Any) -> str:
    # Ids are any JSON value; `1` and `"1"` are different ids.
    return msgspec.json.encode(call_id).decode()
