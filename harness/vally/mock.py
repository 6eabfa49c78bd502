"""Vally's built-in `mock` executor as an agent: it answers with the prompt it was given (a
pass-through trajectory), for trying graders without a real agent."""

from __future__ import annotations

from typing import Any

from harness.sdk import Agent, run


def echo(agent: Agent) -> Any:
    task = agent.input if isinstance(agent.input, dict) else {}
    return task.get("prompt", "")


if __name__ == "__main__":
    run(echo)
