"""The trace of one attempt, as RunLedger names its run.jsonl events."""

from __future__ import annotations

import time
from typing import Any

import msgspec


class Trace:
    """Events of one attempt in order; written to run.jsonl when the attempt ends."""

    def __init__(self, case_id: str, attempt_id: str | None = None) -> None:
        self.case_id = case_id
        self.events: list[dict[str, Any]] = []
        # In a sweep run.jsonl holds every trial of a case: the attempt id tells them apart.
        self._ids = {"case_id": case_id}
        if attempt_id is not None and attempt_id != case_id:
            self._ids["attempt_id"] = attempt_id

    def _add(self, kind: str, **fields: Any) -> None:
        self.events.append({"type": kind, **self._ids, "timestamp": time.time(), **fields})

    def task_start(self, task_id: str, task_input: Any) -> None:
        self._add("task_start", task_id=task_id, input=task_input)

    def tool_call(self, name: str, call_id: str | int, args: Any) -> None:
        self._add("tool_call", name=name, call_id=call_id, args=args)

    def tool_result(self, call_id: str | int, ok: bool, result: Any, error: str | None) -> None:
        self._add("tool_result", call_id=call_id, ok=ok, result=result, error=error)

    def final_output(self, output: Any) -> None:
        self._add("final_output", output=output)

    def log(self, level: str | None, message: str, data: Any) -> None:
        self._add("log", level=level, message=message, data=data)

    def task_error(self, message: str, data: Any) -> None:
        self._add("task_error", message=message, data=data)

    def model_event(self, kind: str, fields: dict[str, Any]) -> None:
        """A model call (`model_call`), a malformed one (`model_error`) or a proxy warning."""
        if kind == "log":
            self.log(fields.get("level"), str(fields.get("message")), None)
        else:
            self._add(kind, **fields)

    def error(self, kind: str, message: str) -> None:
        self._add("attempt_error", failure_type=kind, message=message)

    def assertion_failures(self, failures: list[Any]) -> None:
        self._add("assertion_failure", failures=[msgspec.to_builtins(f) for f in failures])

    def end(self, passed: bool, wall_ms: int) -> None:
        self._add("case_end", passed=passed, wall_ms=wall_ms)
