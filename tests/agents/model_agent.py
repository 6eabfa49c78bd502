"""A test agent on the official SDKs, configured only by the environment harness gives it
(OPENAI_BASE_URL / ANTHROPIC_BASE_URL and placeholder keys).

Task input: `{"calls": [{"client": ..., "prompt": ...}, ...], "tool": name (optional)}`. Each
call runs in order with one of the clients below; between two calls, when `tool` is set, the
agent calls that tool with the text so far (model and tool calls interleave). final_output is
`{"texts": [...], "tool_results": [...], "placeholder_keys": {...}}`.

    openai_chat / openai_chat_stream / openai_chat_async
    openai_responses / openai_responses_stream
    openai_models
    anthropic / anthropic_stream / anthropic_async / anthropic_count
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from harness.sdk import Agent, run


def _openai() -> Any:
    import openai  # imported by the calls that use it: each SDK costs ~0.3 s of start-up

    return openai


def _anthropic() -> Any:
    import anthropic

    return anthropic


def openai_chat(prompt: str, stream: bool = False) -> str:
    client = _openai().OpenAI()
    messages: Any = [{"role": "user", "content": prompt}]
    if not stream:
        done = client.chat.completions.create(
            model="gpt-test", messages=messages, user="someone", temperature=0
        )
        return done.choices[0].message.content or ""
    parts = []
    for chunk in client.chat.completions.create(
        model="gpt-test",
        messages=messages,
        stream=True,
        stream_options={"include_usage": True},
    ):
        parts += [choice.delta.content or "" for choice in chunk.choices]
    return "".join(parts)


async def openai_chat_async(prompt: str) -> str:
    async with _openai().AsyncOpenAI() as client:
        done = await client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": prompt}]
        )
    return done.choices[0].message.content or ""


def openai_responses(prompt: str, stream: bool = False) -> str:
    client = _openai().OpenAI()
    if not stream:
        return str(client.responses.create(model="gpt-test", input=prompt).output_text)
    events = client.responses.create(model="gpt-test", input=prompt, stream=True)
    return "".join(e.delta for e in events if e.type == "response.output_text.delta")


def anthropic_messages(prompt: str, stream: bool = False) -> str:
    client = _anthropic().Anthropic()
    messages: Any = [{"role": "user", "content": prompt}]
    if not stream:
        done = client.messages.create(model="claude-test", max_tokens=64, messages=messages)
        return "".join(block.text for block in done.content if block.type == "text")
    with client.messages.stream(model="claude-test", max_tokens=64, messages=messages) as events:
        return "".join(events.text_stream)


async def anthropic_async(prompt: str) -> str:
    client = _anthropic().AsyncAnthropic()
    done = await client.messages.create(
        model="claude-test", max_tokens=64, messages=[{"role": "user", "content": prompt}]
    )
    return "".join(block.text for block in done.content if block.type == "text")


def one_call(call: dict[str, Any]) -> str:
    client, prompt = call["client"], call.get("prompt", "")
    match client:
        case "openai_chat" | "openai_chat_stream":
            return openai_chat(prompt, stream=client.endswith("stream"))
        case "openai_chat_async":
            return asyncio.run(openai_chat_async(prompt))
        case "openai_responses" | "openai_responses_stream":
            return openai_responses(prompt, stream=client.endswith("stream"))
        case "openai_models":
            return ",".join(model.id for model in _openai().OpenAI().models.list())
        case "anthropic" | "anthropic_stream":
            return anthropic_messages(prompt, stream=client.endswith("stream"))
        case "anthropic_async":
            return asyncio.run(anthropic_async(prompt))
        case "anthropic_count":
            counted = (
                _anthropic()
                .Anthropic()
                .messages.count_tokens(
                    model="claude-test", messages=[{"role": "user", "content": prompt}]
                )
            )
            return str(counted.input_tokens)
    raise ValueError(f"unknown client {client!r}")


def solve(agent: Agent) -> dict[str, Any]:
    texts: list[str] = []
    results: list[Any] = []
    tool = agent.input.get("tool")
    for call in agent.input["calls"]:
        try:
            texts.append(one_call(call))
        except Exception as exc:  # the SDKs' APIStatusError: what a careful agent reports
            status = getattr(exc, "status_code", None)
            if status is None:
                raise
            texts.append(f"error {status}: {getattr(exc, 'message', exc)}")
        if tool:
            results.append(agent.call(tool, text=texts[-1]))
    # Whether each key is harness's placeholder (its token differs every attempt).
    keys = {
        name: (os.environ.get(name) or "").startswith("harness-model-proxy-placeholder-")
        for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")
    }
    return {"texts": texts, "tool_results": results, "placeholder_keys": keys}


if __name__ == "__main__":
    run(solve)
