"""The OpenAI Responses API on the wire: `POST /v1/responses`, a response object, or typed events
(`event: response.output_text.delta` + `data: {..., "sequence_number": n}`) from
`response.created` to `response.completed`, with no [DONE] at the end.
"""

from __future__ import annotations

import json
from typing import Any

from tests.support.providers.openai_api import headers
from tests.support.providers.script import Turn
from tests.support.providers.wire import (
    CREATED,
    Ids,
    Reply,
    estimate_tokens,
    json_bytes,
    json_reply,
    pieces,
    sse_frame,
    sse_reply,
    words,
)


def _usage(body: dict[str, Any], turn: Turn) -> dict[str, Any]:
    arguments = [json.dumps(call.arguments, ensure_ascii=False) for call in turn.tool_calls]
    input_tokens = estimate_tokens([body.get("instructions"), body.get("input"), body.get("tools")])
    output_tokens = estimate_tokens([turn.text or "", *arguments])
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


def output_items(turn: Turn, ids: Ids) -> list[dict[str, Any]]:
    """The finished output: a message (if the turn has text), then one item per tool call."""
    items: list[dict[str, Any]] = []
    if turn.text is not None:
        part = {"type": "output_text", "text": turn.text, "annotations": [], "logprobs": []}
        items.append(
            {
                "id": ids.make("msg_", 100, 48),
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [part],
            }
        )
    for index, call in enumerate(turn.tool_calls):
        items.append(
            {
                "id": ids.make("fc_", 200 + index, 48),
                "type": "function_call",
                "status": "completed",
                "arguments": json.dumps(call.arguments, ensure_ascii=False),
                "call_id": ids.make("call_", index + 1),
                "name": call.name,
            }
        )
    return items


def response_object(
    body: dict[str, Any], ids: Ids, output: list[dict[str, Any]], usage: dict[str, Any] | None
) -> dict[str, Any]:
    """A response as `GET /v1/responses/{id}` would show it; in progress until it has usage."""
    return {
        "id": ids.make("resp_", length=48),
        "object": "response",
        "created_at": CREATED,
        "status": "completed" if usage is not None else "in_progress",
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": body["model"],
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools", []),
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": usage,
        "user": None,
        "metadata": body.get("metadata") or {},
    }


def responses_reply(body: dict[str, Any], turn: Turn, ids: Ids) -> Reply:
    output = output_items(turn, ids)
    if not body.get("stream"):
        finished = response_object(body, ids, output, _usage(body, turn))
        return json_reply(200, finished, headers(ids), pretty=True)
    events = _events(body, turn, ids, output)
    frames = [
        sse_frame(json_bytes({"type": kind, **payload, "sequence_number": n}), kind)
        for n, (kind, payload) in enumerate(events)
    ]
    return sse_reply(frames, headers(ids))


Event = tuple[str, dict[str, Any]]


def _events(
    body: dict[str, Any], turn: Turn, ids: Ids, output: list[dict[str, Any]]
) -> list[Event]:
    started = response_object(body, ids, [], None)
    events: list[Event] = [
        ("response.created", {"response": started}),
        ("response.in_progress", {"response": started}),
    ]
    for index, item in enumerate(output):
        if item["type"] == "message":
            events += _message_events(index, item)
        else:
            events += _function_call_events(index, item)
    finished = response_object(body, ids, output, _usage(body, turn))
    return [*events, ("response.completed", {"response": finished})]


def _message_events(index: int, item: dict[str, Any]) -> list[Event]:
    part = item["content"][0]
    where = {"item_id": item["id"], "output_index": index, "content_index": 0}
    empty = {**part, "text": ""}
    return [
        ("response.output_item.added", {"output_index": index, "item": _opened(item, content=[])}),
        ("response.content_part.added", {**where, "part": empty}),
        *[
            ("response.output_text.delta", {**where, "delta": word, "logprobs": []})
            for word in words(part["text"])
        ],
        ("response.output_text.done", {**where, "text": part["text"], "logprobs": []}),
        ("response.content_part.done", {**where, "part": part}),
        ("response.output_item.done", {"output_index": index, "item": item}),
    ]


def _function_call_events(index: int, item: dict[str, Any]) -> list[Event]:
    where = {"item_id": item["id"], "output_index": index}
    return [
        (
            "response.output_item.added",
            {"output_index": index, "item": _opened(item, arguments="")},
        ),
        *[
            ("response.function_call_arguments.delta", {**where, "delta": piece})
            for piece in pieces(item["arguments"])
        ],
        ("response.function_call_arguments.done", {**where, "arguments": item["arguments"]}),
        ("response.output_item.done", {"output_index": index, "item": item}),
    ]


def _opened(item: dict[str, Any], **empty: Any) -> dict[str, Any]:
    return {**item, "status": "in_progress", **empty}
