"""A tool-using agent on the official `anthropic` SDK: the model's tool_use blocks run through
harness (`harness.sdk`) and go back as tool_result blocks, until it ends its turn. Configured
only by its environment (ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY), as harness gives them.

Task input: `{"prompt": str, "tools": [{"name", "description", "parameters"}], "model": str,
"async": bool, "stream": bool, "count_tokens": bool}` (all but the first two optional). `async`
uses AsyncAnthropic; `stream` reads the event stream (sync: the raw events of
`create(stream=True)` accumulated by hand; async: the SDK's `messages.stream` helper);
`count_tokens` (sync only) asks `messages.count_tokens` before each call, as agents that budget
do. Serves one task after another (protocol 2). Final output:
`{"answer": str, "tools_used": [name, ...], "model_turns": int}` (plus
`"counted_tokens": [...]` with count_tokens).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import anthropic

from harness.sdk import Agent, run

SYSTEM = "You are a careful assistant. Use the tools to look facts up; never guess them."
MAX_TURNS = 8


def options(agent: Agent, messages: list[Any]) -> dict[str, Any]:
    tools = [
        {
            "name": t["name"],
            "description": t.get("description", ""),
            "input_schema": t["parameters"],
        }
        for t in agent.input.get("tools", [])
    ]
    chosen: dict[str, Any] = {
        "model": agent.model or agent.input.get("model", "claude-sonnet-4-5"),
        "system": SYSTEM,
        "messages": messages,
    }
    if tools:
        chosen["tools"] = tools
    return chosen


def run_tools(agent: Agent, content: list[dict[str, Any]], used: list[str]) -> list[Any]:
    """Each tool_use block, run through harness, as a tool_result block."""
    results = []
    for block in content:
        if block["type"] != "tool_use":
            continue
        used.append(block["name"])
        reply = agent.try_call(block["name"], block["input"])
        result = reply.result if reply.ok else {"error": reply.error}
        text = json.dumps(result, ensure_ascii=False, sort_keys=True)
        results.append(
            {
                "type": "tool_result",
                "tool_use_id": block["id"],
                "content": text,
                "is_error": not reply.ok,
            }
        )
    return results


def from_events(events: Any) -> list[dict[str, Any]]:
    """Accumulate raw stream events by hand: text deltas and input_json deltas per block."""
    blocks: dict[int, dict[str, Any]] = {}
    partial: dict[int, str] = {}
    for event in events:
        if event.type == "content_block_start":
            blocks[event.index] = event.content_block.model_dump(exclude_none=True)
        elif event.type == "content_block_delta" and event.delta.type == "text_delta":
            blocks[event.index]["text"] += event.delta.text
        elif event.type == "content_block_delta" and event.delta.type == "input_json_delta":
            partial[event.index] = partial.get(event.index, "") + event.delta.partial_json
    for index, text in partial.items():
        blocks[index]["input"] = json.loads(text or "{}")
    return [blocks[i] for i in sorted(blocks)]


def ask(client: anthropic.Anthropic, agent: Agent, messages: list[Any], stream: bool) -> list[Any]:
    request: Any = options(agent, messages)
    if stream:
        return from_events(client.messages.create(**request, max_tokens=1024, stream=True))
    message = client.messages.create(**request, max_tokens=1024)
    return [block.model_dump(exclude_none=True) for block in message.content]


async def ask_async(
    client: anthropic.AsyncAnthropic, agent: Agent, messages: list[Any], stream: bool
) -> list[Any]:
    request: Any = options(agent, messages)
    if stream:
        async with client.messages.stream(**request, max_tokens=1024) as events:
            message = await events.get_final_message()
    else:
        message = await client.messages.create(**request, max_tokens=1024)
    return [
        block.model_dump(exclude_none=True, exclude={"parsed_output"}) for block in message.content
    ]


def answer(content: list[dict[str, Any]], used: list[str], turn: int) -> dict[str, Any]:
    text = "".join(block["text"] for block in content if block["type"] == "text")
    return {"answer": text, "tools_used": used, "model_turns": turn}


def solve(agent: Agent, stream: bool, count: bool) -> dict[str, Any]:
    messages: list[Any] = [{"role": "user", "content": agent.input["prompt"]}]
    used: list[str] = []
    counted: list[int] = []
    with anthropic.Anthropic() as client:
        for turn in range(1, MAX_TURNS + 1):
            if count:
                counted.append(
                    client.messages.count_tokens(**options(agent, messages)).input_tokens
                )
            content = ask(client, agent, messages, stream)
            messages.append({"role": "assistant", "content": content})
            results = run_tools(agent, content, used)
            if not results:
                return answer(content, used, turn) | ({"counted_tokens": counted} if count else {})
            messages.append({"role": "user", "content": results})
    raise RuntimeError(f"no answer after {MAX_TURNS} model turns")


async def solve_async(agent: Agent, stream: bool) -> dict[str, Any]:
    messages: list[Any] = [{"role": "user", "content": agent.input["prompt"]}]
    used: list[str] = []
    async with anthropic.AsyncAnthropic() as client:
        for turn in range(1, MAX_TURNS + 1):
            content = await ask_async(client, agent, messages, stream)
            messages.append({"role": "assistant", "content": content})
            results = await asyncio.to_thread(run_tools, agent, content, used)
            if not results:
                return answer(content, used, turn)
            messages.append({"role": "user", "content": results})
    raise RuntimeError(f"no answer after {MAX_TURNS} model turns")


def handle(agent: Agent) -> dict[str, Any]:
    stream = bool(agent.input.get("stream"))
    if agent.input.get("async"):
        return asyncio.run(solve_async(agent, stream))
    return solve(agent, stream, bool(agent.input.get("count_tokens")))


if __name__ == "__main__":
    run(handle)
