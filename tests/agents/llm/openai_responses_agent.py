"""A tool-using agent on the official `openai` SDK's Responses API: the model's function calls run
through harness (`harness.sdk`) and go back as function_call_output items, until it answers.
Configured only by its environment (OPENAI_BASE_URL, OPENAI_API_KEY), as harness gives them.

Task input: `{"prompt": str, "tools": [{"name", "description", "parameters"}], "model": str,
"async": bool, "stream": bool, "chain": bool}` (all but the first two optional). `async` uses
AsyncOpenAI; `stream` reads the typed events (sync: `create(stream=True)`, picking the finished
response out of `response.completed`; async: the SDK's `responses.stream` helper); `chain`
sends only the new items with `previous_response_id` instead of the whole history. Serves one
task after another (protocol 2). Final output:
`{"answer": str, "tools_used": [name, ...], "model_turns": int}`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai
from openai.types.responses import Response

from harness.sdk import Agent, run

INSTRUCTIONS = "You are a careful assistant. Use the tools to look facts up; never guess them."
MAX_TURNS = 8


def options(agent: Agent) -> dict[str, Any]:
    tools = [{"type": "function", **tool} for tool in agent.input.get("tools", [])]
    chosen: dict[str, Any] = {
        "model": agent.model or agent.input.get("model", "gpt-4o-mini"),
        "instructions": INSTRUCTIONS,
    }
    if tools:
        chosen["tools"] = tools
    return chosen


def run_tools(agent: Agent, response: Response, used: list[str]) -> list[Any]:
    """Each function call in the response, run through harness, as function_call_output."""
    outputs = []
    for item in response.output:
        if item.type != "function_call":
            continue
        used.append(item.name)
        reply = agent.try_call(item.name, json.loads(item.arguments or "{}"))
        result = reply.result if reply.ok else {"error": reply.error}
        output = json.dumps(result, ensure_ascii=False, sort_keys=True)
        outputs.append({"type": "function_call_output", "call_id": item.call_id, "output": output})
    return outputs


def next_request(
    history: list[Any], response: Response, outputs: list[Any], chain: bool
) -> tuple[list[Any], str | None]:
    """What the next call sends: the whole history, or only the outputs and the previous id."""
    if chain:
        return outputs, response.id
    echoed = [
        item.model_dump(exclude_none=True, exclude={"parsed_arguments"}) for item in response.output
    ]
    return [*history, *echoed, *outputs], None


def ask(
    client: openai.OpenAI, agent: Agent, items: list[Any], previous: str | None, stream: bool
) -> Response:
    request: Any = {**options(agent), "input": items}
    if previous is not None:
        request["previous_response_id"] = previous
    if not stream:
        finished: Response = client.responses.create(**request)
        return finished
    for event in client.responses.create(**request, stream=True):
        if event.type == "response.completed":
            completed: Response = event.response
            return completed
    raise RuntimeError("the stream ended without response.completed")


async def ask_async(
    client: openai.AsyncOpenAI, agent: Agent, items: list[Any], previous: str | None, stream: bool
) -> Response:
    request: Any = {**options(agent), "input": items}
    if previous is not None:
        request["previous_response_id"] = previous
    if not stream:
        finished: Response = await client.responses.create(**request)
        return finished
    async with client.responses.stream(**request) as events:
        return await events.get_final_response()


def solve(agent: Agent, stream: bool, chain: bool) -> dict[str, Any]:
    items: list[Any] = [{"role": "user", "content": agent.input["prompt"]}]
    previous: str | None = None
    used: list[str] = []
    with openai.OpenAI() as client:
        for turn in range(1, MAX_TURNS + 1):
            response = ask(client, agent, items, previous, stream)
            outputs = run_tools(agent, response, used)
            if not outputs:
                return {"answer": response.output_text, "tools_used": used, "model_turns": turn}
            items, previous = next_request(items, response, outputs, chain)
    raise RuntimeError(f"no answer after {MAX_TURNS} model turns")


async def solve_async(agent: Agent, stream: bool, chain: bool) -> dict[str, Any]:
    items: list[Any] = [{"role": "user", "content": agent.input["prompt"]}]
    previous: str | None = None
    used: list[str] = []
    async with openai.AsyncOpenAI() as client:
        for turn in range(1, MAX_TURNS + 1):
            response = await ask_async(client, agent, items, previous, stream)
            outputs = await asyncio.to_thread(run_tools, agent, response, used)
            if not outputs:
                return {"answer": response.output_text, "tools_used": used, "model_turns": turn}
            items, previous = next_request(items, response, outputs, chain)
    raise RuntimeError(f"no answer after {MAX_TURNS} model turns")


def handle(agent: Agent) -> dict[str, Any]:
    stream, chain = bool(agent.input.get("stream")), bool(agent.input.get("chain"))
    if agent.input.get("async"):
        return asyncio.run(solve_async(agent, stream, chain))
    return solve(agent, stream, chain)


if __name__ == "__main__":
    run(handle)
