"""The Vally trajectory a grader reads: what one trial did, as Vally records it.

A trajectory is `{id, stimulus, events, metrics, output, workDir, metadata, ...}` with events
`{type, timestamp, data}`. harness builds one from each attempt's trace (harness.vally); `vally
grade` input carries one in each record. Graders find it in `GradingContext.meta`. Metrics are
read with fallbacks to the events, so a record written by Vally itself grades the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.grading.context import GradingContext
from harness.grading.verdict import GraderError

TRAJECTORY_KEY = "vally_trajectory"
STIMULUS_KEY = "vally_stimulus"
JUDGE_KEY = "vally_judge"
BASELINE_KEY = "vally_baseline_dir"


@dataclass(frozen=True)
class ToolUse:
    """One tool call with its result, and the agent step (0-based turn) it was made in."""

    name: str
    call_id: Any
    arguments: Any
    step: int
    index: int  # 0-based position among the trajectory's calls
    success: bool | None = None
    result: Any = None


@dataclass(frozen=True)
class Trajectory:
    """A read-only view of one trajectory."""

    raw: Mapping[str, Any]

    @property
    def output(self) -> str:
        value = self.raw.get("output")
        return value if isinstance(value, str) else ("" if value is None else str(value))

    @property
    def events(self) -> list[Mapping[str, Any]]:
        events = self.raw.get("events")
        return [e for e in events if isinstance(e, Mapping)] if isinstance(events, list) else []

    @property
    def metrics(self) -> Mapping[str, Any]:
        metrics = self.raw.get("metrics")
        return metrics if isinstance(metrics, Mapping) else {}

    def of_type(self, *types: str) -> list[Mapping[str, Any]]:
        return [event for event in self.events if event.get("type") in types]

    def tool_uses(self) -> list[ToolUse]:
        """Every tool_call event paired with its tool_result by call id, in call order."""
        calls: list[dict[str, Any]] = []
        by_id: dict[str, int] = {}
        step = -1
        for event in self.events:
            kind, data = event.get("type"), data_of(event)
            if kind == "turn_start":
                step += 1
            elif kind == "tool_call":
                by_id[repr(data.get("toolCallId"))] = len(calls)
                calls.append(
                    {
                        "name": str(data.get("toolName", "")),
                        "call_id": data.get("toolCallId"),
                        "arguments": data.get("arguments"),
                        "step": max(step, 0),
                        "index": len(calls),
                    }
                )
            elif kind == "tool_result":
                position = by_id.pop(repr(data.get("toolCallId")), None)
                if position is not None:
                    calls[position]["success"] = data.get("success")
                    calls[position]["result"] = data.get("result")
        return [ToolUse(**call) for call in calls]

    def skills_activated(self) -> list[str]:
        names = []
        for event in self.of_type("skill_activation", "skill_activated"):
            data = data_of(event)
            name = data.get("skillName", data.get("name", data.get("skill")))
            if isinstance(name, str):
                names.append(name)
        return names

    def assistant_texts(self) -> list[str]:
        texts = []
        for event in self.of_type("assistant_message"):
            data = data_of(event)
            content = data.get("content", data.get("text", data.get("message")))
            if isinstance(content, str):
                texts.append(content)
        if self.output and self.output not in texts:
            texts.append(self.output)
        return texts

    # Metrics, each from `metrics` when recorded, else counted from the events. -------------

    def total_tokens(self) -> int:
        usage = self.metrics.get("tokenUsage")
        if isinstance(usage, Mapping):
            total = usage.get("totalTokens")
            if isinstance(total, int | float) and _is_number(total):
                return int(total)
            parts = [usage.get("inputTokens"), usage.get("outputTokens")]
            numbers = [int(part) for part in parts if isinstance(part, int | float)]
            if numbers:
                return sum(numbers)
        total = 0
        for event in self.of_type("token_usage"):
            data = data_of(event)
            for key in ("inputTokens", "outputTokens"):
                if _is_number(data.get(key)):
                    total += int(data[key])
        return total

    def tool_call_count(self, tools: list[str] | None = None) -> int:
        if tools:
            return sum(1 for use in self.tool_uses() if use.name in tools)
        return self._counted(("toolCalls", "toolCallCount"), ("tool_call",))

    def turn_count(self) -> int:
        return self._counted(("turns", "turnCount"), ("turn_end",))

    def error_count(self) -> int:
        return self._counted(("errors", "errorCount"), ("error",))

    def wall_time_ms(self) -> float:
        for key in ("wallTimeMs", "durationMs"):
            if _is_number(self.metrics.get(key)):
                return float(self.metrics[key])
        raise GraderError("the trajectory records no wall time (metrics.wallTimeMs)")

    def _counted(self, keys: tuple[str, ...], events: tuple[str, ...]) -> int:
        for key in keys:
            if _is_number(self.metrics.get(key)):
                return int(self.metrics[key])
        return len(self.of_type(*events))


def data_of(event: Mapping[str, Any]) -> Mapping[str, Any]:
    data = event.get("data")
    return data if isinstance(data, Mapping) else {}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def trajectory_of(context: GradingContext) -> Trajectory:
    """The trajectory being graded; a context without one is a grader that cannot run."""
    raw = context.meta.get(TRAJECTORY_KEY)
    if not isinstance(raw, Mapping):
        raise GraderError("no Vally trajectory to grade (Vally graders run under harness vally)")
    return Trajectory(raw)


def stimulus_of(context: GradingContext) -> Mapping[str, Any]:
    stimulus = context.meta.get(STIMULUS_KEY)
    return stimulus if isinstance(stimulus, Mapping) else {}
