"""Acme Shop's support assistant: a tool-using agent on the official `openai` SDK.

It answers one customer message at a time. The model decides which tools to call (look an order
up, read the refund policy, issue a refund); the tools run through harness (`harness.sdk`), their
results go back to the model, and the model's last message is the reply. Nothing in it knows
about harness's model cassettes: `OpenAI()` reads OPENAI_BASE_URL and OPENAI_API_KEY from the
environment, which harness points at its model proxy (record: forwarded to OpenAI with your key;
replay: answered from the cassette, offline).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from openai import OpenAI
from openai.types.chat import ChatCompletionFunctionToolParam

# Any python3 with `openai` installed can run the demo from a checkout: the SDK is imported from
# this repository when harness is not installed for that interpreter.
sys.path.append(str(Path(__file__).resolve().parents[3]))

from harness.sdk import Agent, run

MODEL = "gpt-4o-mini"
MAX_TURNS = 6
SYSTEM = (
    "You are the support assistant of Acme Shop. Look an order up before you say anything about "
    "it. Read the refund policy before you promise a refund, and issue one only when the policy "
    "allows it. Answer in two or three friendly sentences."
)


def tool(name: str, description: str, **properties: Any) -> ChatCompletionFunctionToolParam:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": list(properties),
                "additionalProperties": False,
            },
        },
    }


TOOLS = [
    tool("lookup_order", "An order's items, status, dates and total", order_id={"type": "string"}),
    tool("search_policy", "The shop's policy on a topic", topic={"type": "string"}),
    tool(
        "issue_refund",
        "Refund (part of) an order to the customer's card",
        order_id={"type": "string"},
        amount_usd={"type": "number"},
        reason={"type": "string"},
    ),
]


def run_tool_calls(agent: Agent, calls: Any, actions: list[str]) -> list[dict[str, Any]]:
    """Run each tool call through harness; a failed tool is told to the model, not raised."""
    messages = []
    for call in calls:
        actions.append(call.function.name)
        reply = agent.try_call(call.function.name, json.loads(call.function.arguments))
        content = reply.result if reply.ok else {"error": reply.error}
        messages.append(
            {
                "role": "tool",
                "tool_call_id": call.id,
                "content": json.dumps(content, sort_keys=True),
            }
        )
    return messages


def assistant_message(message: Any) -> dict[str, Any]:
    calls = [
        {
            "id": c.id,
            "type": "function",
            "function": {"name": c.function.name, "arguments": c.function.arguments},
        }
        for c in message.tool_calls or []
    ]
    return {
        "role": "assistant",
        "content": message.content,
        **({"tool_calls": calls} if calls else {}),
    }


def support(agent: Agent) -> dict[str, Any]:
    messages: list[Any] = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": agent.input["message"]},
    ]
    actions: list[str] = []
    with OpenAI() as client:
        for _ in range(MAX_TURNS):
            # Streamed, as a chat UI shows the reply while it is written; with usage, so what
            # each reply costs is counted.
            with client.chat.completions.stream(
                model=agent.model or MODEL,
                messages=messages,
                tools=TOOLS,
                temperature=0,
                stream_options={"include_usage": True},
            ) as stream:
                message = stream.get_final_completion().choices[0].message
            messages.append(assistant_message(message))
            if not message.tool_calls:
                return {"reply": message.content, "actions": actions}
            messages += run_tool_calls(agent, message.tool_calls, actions)
    raise RuntimeError(f"no reply after {MAX_TURNS} model turns")


if __name__ == "__main__":
    run(support)
