"""A tool-using agent on the official `openai` SDK's chat completions, as a user would write one:
the model is asked, the tools it calls run through harness (`harness.sdk`), their results go
back to the model, until it answers. Configured only by its environment (OPENAI_BASE_URL,
OPENAI_API_KEY), as harness gives them.

Task input: `{"prompt": str, "tools": [{"name", "description", "parameters"}], "model": str,
"async": bool, "stream": bool}` (the last three optional). `async` uses AsyncOpenAI; `stream`
asks for a stream (sync: the chunks accumulated by hand; async: the SDK's
`chat.completions.stream` helper). It serves one task after another (protocol 2), so a suite
with `agent_reuse: per_worker` pays the SDK's import once. Final output:
`{"answer": str, "tools_used": [name, ...], "model_turns": int}`; a request the API refuses
with a 400 ends the sync variants with `{"answer": null, "refused": {"status", "body"}, ...}`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai

from harness.sdk import Agent, run

SYSTEM = "You are a careful assistant. Use the tools to look facts up; never guess them."
MAX_TURNS = 8


def function_tools(agent: Agent) -> Any:
    return [{"type": "function", "function": tool} for tool in agent.input.get("tools", [])]


def model_name(agent: Agent) -> str:
    return agent.model or agent.input.get("model", "gpt-4o-mini")


def first_messages(agent: Agent) -> list[Any]:
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": agent.input["prompt"]},
    ]


def run_tools(agent: Agent, message: dict[str, Any], used: list[str]) -> list[Any]:
    """Each tool call the model asked for, run through harness, as `tool` messages."""
    replies = []
    for call in message.get("tool_calls", []):
        name = call["function"]["name"]
        used.append(name)
        reply = agent.try_call(name, json.loads(call["function"]["arguments"] or "{}"))
        result = reply.result if reply.ok else {"error": reply.error}
        content = json.dumps(result, ensure_ascii=False, sort_keys=True)
        replies.append({"role": "tool", "tool_call_id": call["id"], "content": content})
    return replies


def as_message(content: str | None, tool_calls: list[dict[str, Any]]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return message


def from_completion(completion: Any) -> dict[str, Any]:
    reply = completion.choices[0].message
    calls = [
        {
            "id": call.id,
            "type": "function",
            "function": {"name": call.function.name, "arguments": call.function.arguments},
        }
        for call in reply.tool_calls or []
    ]
    return as_message(reply.content, calls)


def from_chunks(chunks: Any) -> dict[str, Any]:
    """Accumulate a stream by hand: content deltas, and tool calls by their index."""
    content: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            content.append(choice.delta.content or "")
            for delta in choice.delta.tool_calls or []:
                call = calls.setdefault(
                    delta.index,
                    {"id": "", "type": "function", "function": {"name": "", "arguments": ""}},
                )
                call["id"] = delta.id or call["id"]
                if delta.function is not None:
                    call["function"]["name"] += delta.function.name or ""
                    call["function"]["arguments"] += delta.function.arguments or ""
    return as_message("".join(content) or None, [calls[i] for i in sorted(calls)])


def ask(client: openai.OpenAI, agent: Agent, messages: list[Any], stream: bool) -> dict[str, Any]:
    options: Any = {"model": model_name(agent), "messages": messages}
    if agent.input.get("tools"):
        options["tools"] = function_tools(agent)
    if stream:
        return from_chunks(client.chat.completions.create(**options, stream=True))
    return from_completion(client.chat.completions.create(**options))


async def ask_async(
    client: openai.AsyncOpenAI, agent: Agent, messages: list[Any], stream: bool
) -> dict[str, Any]:
    options: Any = {"model": model_name(agent), "messages": messages}
    if agent.input.get("tools"):
        options["tools"] = function_tools(agent)
    if not stream:
        return from_completion(await client.chat.completions.create(**options))
    async with client.chat.completions.stream(**options) as events:
        return from_completion(await events.get_final_completion())


def solve(agent: Agent, stream: bool) -> dict[str, Any]:
    messages, used = first_messages(agent), list[str]()
    with openai.OpenAI() as client:
        for turn in range(1, MAX_TURNS + 1):
            try:
                message = ask(client, agent, messages, stream)
            except openai.BadRequestError as exc:
                # The request was refused: say so in the answer, as a chat UI would.
                refused = {"status": exc.status_code, "body": exc.body}
                return {"answer": None, "refused": refused, "tools_used": used, "model_turns": turn}
            messages.append(message)
            if "tool_calls" not in message:
                return {"answer": message["content"], "tools_used": used, "model_turns": turn}
            messages += run_tools(agent, message, used)
    raise RuntimeError(f"no answer after {MAX_TURNS} model turns")


async def solve_async(agent: Agent, stream: bool) -> dict[str, Any]:
    messages, used = first_messages(agent), list[str]()
    async with openai.AsyncOpenAI() as client:
        for turn in range(1, MAX_TURNS + 1):
            message = await ask_async(client, agent, messages, stream)
            messages.append(message)
            if "tool_calls" not in message:
                return {"answer": message["content"], "tools_used": used, "model_turns": turn}
            # harness's tool protocol is a blocking pipe: keep the event loop free meanwhile
            messages += await asyncio.to_thread(run_tools, agent, message, used)
    raise RuntimeError(f"no answer after {MAX_TURNS} model turns")


def handle(agent: Agent) -> dict[str, Any]:
    stream = bool(agent.input.get("stream"))
    if agent.input.get("async"):
        return asyncio.run(solve_async(agent, stream))
    return solve(agent, stream)


if __name__ == "__main__":
    run(handle)
