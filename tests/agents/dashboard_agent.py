"""A test agent for `harness serve`: tool calls, a log line, usage, stderr and an outcome per
model and trial, all from its task input, so a run has everything the dashboard shows.

    {"outcomes": {"model-a": "PPF", "*": "P"},   trial t plays letter t-1 (P pass, F fail)
     "calls": [{"name": "lookup", "args": {...}}, ...],
     "answer": any, "log": "text", "stderr": "text", "cost_usd": 0.01, "tokens_out": 40,
     "sleep_ms": 0}

A failing trial answers without "answer" (the suite's required_fields grader fails it).
Stdlib only.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any


def send(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main() -> None:
    task = json.loads(sys.stdin.readline())
    spec = task.get("input") or {}
    outcomes = spec.get("outcomes") or {}
    letters = outcomes.get(task.get("model") or "*") or outcomes.get("*") or "P"
    letter = letters[((task.get("trial") or 1) - 1) % len(letters)]
    if spec.get("stderr"):
        sys.stderr.write(str(spec["stderr"]) + "\n")
        sys.stderr.flush()
    for number, call in enumerate(spec.get("calls") or [], start=1):
        send(
            {
                "type": "tool_call",
                "name": call["name"],
                "call_id": f"c{number}",
                "args": call["args"],
            }
        )
        json.loads(sys.stdin.readline())
    if spec.get("sleep_ms"):
        time.sleep(spec["sleep_ms"] / 1000)
    if spec.get("log"):
        send({"type": "log", "level": "info", "message": spec["log"]})
    send(
        {
            "type": "usage",
            "tokens_in": 120,
            "tokens_out": spec.get("tokens_out", 40),
            "cost_usd": spec.get("cost_usd", 0.002),
        }
    )
    answer = spec.get("answer", "ok")
    send(
        {
            "type": "final_output",
            "output": {"answer": answer} if letter == "P" else {"reply": answer},
        }
    )


if __name__ == "__main__":
    main()
