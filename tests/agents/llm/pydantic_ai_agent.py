"""A pydantic-ai agent on its OpenAI chat model class (`OpenAIChatModel` with `OpenAIProvider`,
which reads OPENAI_BASE_URL and OPENAI_API_KEY from the environment harness gives it). The tools
the task names are pydantic-ai tools whose bodies call harness's tools (`harness.sdk`).

Task input: `{"prompt": str, "tools": [{"name", "description", "parameters"}], "model": str,
"stream": bool}`; `stream` streams every model response (`run` with an event_stream_handler)
instead of `run_sync`. Serves one
task after another (protocol 2). Final output:
`{"answer": str, "tools_used": [name, ...], "model_turns": int}`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable
from typing import Any

from pydantic_ai import Agent as PydanticAgent
from pydantic_ai import RunContext, Tool
from pydantic_ai.messages import AgentStreamEvent, ModelResponse
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

from harness.sdk import Agent, run

INSTRUCTIONS = "You are a careful assistant. Use the tools to look facts up; never guess them."


def harness_tool(agent: Agent, spec: dict[str, Any], used: list[str]) -> Tool[None]:
    name = spec["name"]

    def call(**arguments: Any) -> Any:
        used.append(name)
        return agent.call(name, arguments)

    # sequential: harness's tool protocol is one pipe, so two calls must never overlap
    return Tool.from_schema(
        call, name, spec.get("description"), spec["parameters"], sequential=True
    )


def build(agent: Agent, used: list[str]) -> PydanticAgent[None, str]:
    model = OpenAIChatModel(
        agent.model or agent.input.get("model", "gpt-4o-mini"), provider=OpenAIProvider()
    )
    tools = [harness_tool(agent, spec, used) for spec in agent.input.get("tools", [])]
    return PydanticAgent(model, instructions=INSTRUCTIONS, tools=tools)


def model_turns(messages: list[Any]) -> int:
    return sum(isinstance(message, ModelResponse) for message in messages)


async def solve_streamed(agent: Agent) -> dict[str, Any]:
    """The whole run with every model response streamed (`run` with an event handler: unlike
    `run_stream`, it goes on past a response that has text before its tool calls)."""
    used: list[str] = []

    async def collect(_: RunContext[None], stream: AsyncIterable[AgentStreamEvent]) -> None:
        async for _event in stream:
            pass  # a user would show progress here; the run only needs the stream read

    result = await build(agent, used).run(agent.input["prompt"], event_stream_handler=collect)
    turns = model_turns(result.all_messages())
    return {"answer": result.output, "tools_used": used, "model_turns": turns}


def solve(agent: Agent) -> dict[str, Any]:
    used: list[str] = []
    result = build(agent, used).run_sync(agent.input["prompt"])
    return {
        "answer": result.output,
        "tools_used": used,
        "model_turns": model_turns(result.all_messages()),
    }


def handle(agent: Agent) -> dict[str, Any]:
    if agent.input.get("stream"):
        return asyncio.run(solve_streamed(agent))
    return solve(agent)


if __name__ == "__main__":
    run(handle)
