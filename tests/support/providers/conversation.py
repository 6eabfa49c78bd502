"""Read a conversation out of a request body, for each of the three request shapes: OpenAI chat
completions (`messages`), the Responses API (`input` items) and Anthropic messages (`messages` of
content blocks). A script only needs three facts: the first user message, how many model turns
the history already holds, and the tool outputs that answered the last one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


class BadRequest(Exception):
    """The request is malformed; the provider answers 400 with this message."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


@dataclass(frozen=True)
class Conversation:
    prompt: str
    turn: int
    tool_results: list[str] = field(default_factory=list)


def text_of(content: Any) -> str:
    """The text of a message's content: a string, or the text parts of a list of parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    raise BadRequest("content must be a string or a list of content parts", "content")


def _items(body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = body.get(key)
    if not isinstance(value, list) or not value:
        raise BadRequest(f"'{key}' must be a non-empty array", key)
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise BadRequest(f"'{key}[{index}]' must be an object", f"{key}[{index}]")
    return value


def _first_user_text(messages: Iterable[dict[str, Any]]) -> str:
    for message in messages:
        if message.get("role") == "user":
            return text_of(message.get("content"))
    return ""


def chat_conversation(body: dict[str, Any]) -> Conversation:
    """OpenAI chat completions: roles system/developer/user/assistant/tool."""
    messages = _items(body, "messages")
    turn = 0
    results: list[str] = []
    for message in messages:
        if message.get("role") == "assistant":
            turn += 1
            results = []
        elif message.get("role") == "tool":
            results.append(text_of(message.get("content")))
    return Conversation(_first_user_text(messages), turn, results)


def _is_model_item(item: dict[str, Any]) -> bool:
    return item.get("role") == "assistant" or item.get("type") in ("function_call", "reasoning")


def responses_conversation(
    body: dict[str, Any], earlier: Conversation | None = None
) -> Conversation:
    """The Responses API: `input` is a string or a list of items (messages, function_call,
    function_call_output). `earlier` is what `previous_response_id` named, if anything."""
    raw = body.get("input")
    if raw is None and earlier is None:
        raise BadRequest("Missing required parameter: 'input'.", "input")
    if isinstance(raw, str):
        items: list[dict[str, Any]] = [{"role": "user", "content": raw}]
    else:
        items = _items(body, "input") if raw is not None else []
    turn = earlier.turn if earlier else 0
    prompt = earlier.prompt if earlier else _first_user_text(items)
    results: list[str] = []
    in_model_run = False
    for item in items:
        if _is_model_item(item):
            if not in_model_run:
                turn += 1
                results = []
            in_model_run = True
            continue
        in_model_run = False
        if item.get("type") == "function_call_output":
            results.append(text_of(item.get("output")))
    return Conversation(prompt, turn, results)


def messages_conversation(body: dict[str, Any]) -> Conversation:
    """Anthropic messages: user and assistant turns of content blocks; tool outputs are
    tool_result blocks in the user message after the assistant's tool_use."""
    messages = _items(body, "messages")
    turn = 0
    results: list[str] = []
    for message in messages:
        if message.get("role") == "assistant":
            turn += 1
            results = []
            continue
        content = message.get("content")
        if isinstance(content, list):
            results += [
                text_of(block.get("content"))
                for block in content
                if isinstance(block, dict) and block.get("type") == "tool_result"
            ]
    return Conversation(_first_user_text(messages), turn, results)


def after_reply(conversation: Conversation) -> Conversation:
    """The conversation once the model has answered it (what a `previous_response_id` names)."""
    return Conversation(conversation.prompt, conversation.turn + 1, [])
