"""The Python agent SDK: read the task, call tools, answer. A whole agent is ten lines:

    from harness.sdk import Agent, run

    def triage(agent: Agent) -> dict:
        ticket = agent.input["ticket"]
        customer = agent.call("get_customer", email=ticket["from"])
        agent.log(f"customer {customer['id']}")
        return {"category": "billing", "reply": f"Hi {customer['name']}"}

    run(triage)

`agent.call` returns the tool's result, or raises ToolError with the tool's error message (use
`agent.try_call` to get `ok` and handle failures yourself). An exception out of the function is
sent as task_error. `run` serves one task per process, or many when the runner keeps the agent
(protocol 2, see harness.sdk.serve). Stdlib only: importing it costs the agent nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, BinaryIO

from harness.sdk.serve import Task, ToolReply, serve

__all__ = ["Agent", "ToolError", "ToolReply", "run"]


class ToolError(Exception):
    """A tool answered `ok: false`; the message is its error."""

    def __init__(self, tool: str, error: str | None) -> None:
        self.tool = tool
        self.error = error
        super().__init__(f"{tool} failed: {error}")


class Agent:
    """One task as the agent sees it."""

    def __init__(self, task: Task) -> None:
        self._task = task

    @property
    def input(self) -> Any:
        """The case's `input`, as written in its YAML file."""
        return self._task.input

    @property
    def task_id(self) -> str:
        return self._task.task_id

    @property
    def model(self) -> str | None:
        """The model of a sweep (`--model`), else None."""
        return self._task.model

    @property
    def trial(self) -> int | None:
        return self._task.trial

    @property
    def seed(self) -> int | None:
        return self._task.seed

    def call(self, tool: str, args: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """Call a tool and return its result: `agent.call("weather", city="Oslo")`.

        Raises:
            ToolError: the tool answered with an error.
        """
        reply = self.try_call(tool, args, **kwargs)
        if not reply.ok:
            raise ToolError(tool, reply.error)
        return reply.result

    def try_call(self, tool: str, args: dict[str, Any] | None = None, **kwargs: Any) -> ToolReply:
        """Call a tool; the reply says `ok`, and carries `result` or `error`."""
        return self._task.call(tool, {**(args or {}), **kwargs})

    def log(self, message: str, level: str = "info", data: Any = None) -> None:
        """A log line in the run's trace (print to stderr for free-form debugging)."""
        self._task.log(message, level, data)

    def usage(
        self,
        tokens_in: int | None = None,
        tokens_out: int | None = None,
        cost_usd: float | None = None,
    ) -> None:
        """Report tokens and cost, for budgets and sweeps."""
        self._task.usage(tokens_in, tokens_out, cost_usd)


def run(
    main: Callable[[Agent], Any],
    *,
    multi_task: bool = True,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
) -> int:
    """Run `main(agent)` for each task and send what it returns as the final output.

    Returns how many tasks were answered.
    """
    return serve(lambda task: main(Agent(task)), multi_task=multi_task, stdin=stdin, stdout=stdout)
