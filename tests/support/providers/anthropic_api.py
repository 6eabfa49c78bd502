"""Anthropic on the wire: `POST /v1/messages` (a message, or a stream of `event:` + `data:` pairs:
message_start, ping, content_block_start/delta/stop, message_delta with usage, message_stop),
`POST /v1/messages/count_tokens`, and errors (`{"type": "error", "error": {...}}`), as
api.anthropic.com sends them and the `anthropic` SDK parses them.
"""

from __future__ import annotations

import json
from typing import Any

from tests.support.providers.script import ErrorSpec, Turn
from tests.support.providers.wire import (
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

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def headers(ids: Ids) -> list[tuple[str, str]]:
    """What api.anthropic.com sends beside each body; set-cookie is one a recording must drop."""
    return [
        ("request-id", ids.make("req_01", length=22)),
        ("anthropic-organization-id", "00000000-0000-4000-8000-000000000000"),
        ("anthropic-ratelimit-requests-limit", "4000"),
        ("anthropic-ratelimit-requests-remaining", "3999"),
        ("set-cookie", f"_cfuvid={ids.make('', 9, 40)}; path=/; HttpOnly; Secure"),
    ]


def error_reply(spec: ErrorSpec, ids: Ids) -> Reply:
    error_type = spec.type or _ERROR_TYPES.get(spec.status, "api_error")
    body = {
        "type": "error",
        "error": {"type": error_type, "message": spec.message},
        "request_id": ids.make("req_01", length=22),
    }
    extra = [("retry-after", spec.retry_after)] if spec.retry_after is not None else []
    if spec.status == 529:
        extra.append(("x-should-retry", "true"))
    return json_reply(spec.status, body, [*headers(ids), *extra], pretty=False)


def input_tokens(body: dict[str, Any]) -> int:
    return estimate_tokens([body.get("system"), body.get("messages"), body.get("tools")])


def count_tokens_reply(body: dict[str, Any], ids: Ids) -> Reply:
    return json_reply(200, {"input_tokens": input_tokens(body)}, headers(ids), pretty=False)


def _blocks(turn: Turn, ids: Ids) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if turn.text is not None:
        blocks.append({"type": "text", "text": turn.text})
    blocks += [
        {"type": "tool_use", "id": ids.make("toolu_01", index + 1), "name": call.name}
        | {"input": call.arguments}
        for index, call in enumerate(turn.tool_calls)
    ]
    return blocks


def _message(body: dict[str, Any], ids: Ids, content: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": ids.make("msg_01", length=22),
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": content,
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {
            "input_tokens": input_tokens(body),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 1,
        },
    }


def _output_tokens(turn: Turn) -> int:
    return estimate_tokens([turn.text or "", *[call.arguments for call in turn.tool_calls]])


def messages_reply(body: dict[str, Any], turn: Turn, ids: Ids) -> Reply:
    blocks = _blocks(turn, ids)
    stop_reason = "tool_use" if turn.tool_calls else "end_turn"
    if body.get("stream"):
        return sse_reply(_frames(body, ids, blocks, stop_reason, turn), headers(ids))
    message = _message(body, ids, blocks)
    message["stop_reason"] = stop_reason
    message["usage"]["output_tokens"] = _output_tokens(turn)
    return json_reply(200, message, headers(ids), pretty=False)


def _frame(kind: str, payload: dict[str, Any]) -> bytes:
    return sse_frame(json_bytes({"type": kind, **payload}), kind)


def _frames(
    body: dict[str, Any], ids: Ids, blocks: list[dict[str, Any]], stop_reason: str, turn: Turn
) -> list[bytes]:
    frames = [
        _frame("message_start", {"message": _message(body, ids, [])}),
        _frame("ping", {}),
    ]
    for index, block in enumerate(blocks):
        frames += _block_frames(index, block)
    delta = {"stop_reason": stop_reason, "stop_sequence": None}
    frames.append(
        _frame("message_delta", {"delta": delta, "usage": {"output_tokens": _output_tokens(turn)}})
    )
    return [*frames, _frame("message_stop", {})]


def _block_frames(index: int, block: dict[str, Any]) -> list[bytes]:
    if block["type"] == "text":
        opening: dict[str, Any] = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": word} for word in words(block["text"])]
    else:
        opening = {**block, "input": {}}
        arguments = json.dumps(block["input"], ensure_ascii=False)
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in pieces(arguments)]
    return [
        _frame("content_block_start", {"index": index, "content_block": opening}),
        *[_frame("content_block_delta", {"index": index, "delta": d}) for d in deltas],
        _frame("content_block_stop", {"index": index}),
    ]
