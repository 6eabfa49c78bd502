"""OpenAI on the wire: chat completions and the Responses API (a JSON body, or a stream), the
model list, and errors, shaped as api.openai.com sends them and as the `openai` SDK parses them.

Streams: chat completions are `data: {chunk}` events ending with `data: [DONE]`; the Responses
API sends typed events (`event: response.created` + `data: {...}`) and no [DONE].
"""

from __future__ import annotations

import json
from typing import Any

from tests.support.providers.script import ErrorSpec, Turn
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

MODELS = ["gpt-4o-mini", "gpt-4.1", "gpt-5-mini"]
_ERROR_TYPES = {429: "requests", 500: "server_error", 502: "server_error", 503: "server_error"}


def headers(ids: Ids) -> list[tuple[str, str]]:
    """What api.openai.com sends beside each body; set-cookie is one a recording must drop."""
    return [
        ("x-request-id", ids.make("req_", length=32)),
        ("openai-version", "2020-10-01"),
        ("openai-organization", "user-standin"),
        ("openai-processing-ms", "7"),
        ("x-ratelimit-limit-requests", "10000"),
        ("x-ratelimit-remaining-requests", "9999"),
        ("set-cookie", f"__cf_bm={ids.make('', 9, 40)}; path=/; HttpOnly; Secure"),
    ]


def error_reply(spec: ErrorSpec, ids: Ids) -> Reply:
    """`{"error": {message, type, param, code}}`, with retry-after when the spec has one."""
    error_type = spec.type or _ERROR_TYPES.get(spec.status, "invalid_request_error")
    code = spec.code or ("rate_limit_exceeded" if spec.status == 429 else None)
    body = {"error": {"message": spec.message, "type": error_type, "param": spec.param}}
    body["error"]["code"] = code
    extra = [("retry-after", spec.retry_after)] if spec.retry_after is not None else []
    return json_reply(spec.status, body, [*headers(ids), *extra], pretty=True)


def models_reply(ids: Ids) -> Reply:
    data = [
        {"id": name, "object": "model", "created": CREATED, "owned_by": "system"} for name in MODELS
    ]
    return json_reply(200, {"object": "list", "data": data}, headers(ids), pretty=True)


def _arguments(turn: Turn) -> list[str]:
    return [json.dumps(call.arguments, ensure_ascii=False) for call in turn.tool_calls]


def _chat_usage(body: dict[str, Any], turn: Turn) -> dict[str, Any]:
    prompt = estimate_tokens([body.get("messages"), body.get("tools")])
    completion = estimate_tokens([turn.text or "", *_arguments(turn)])
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _chat_tool_calls(turn: Turn, ids: Ids) -> list[dict[str, Any]]:
    return [
        {
            "id": ids.make("call_", index + 1),
            "type": "function",
            "function": {"name": call.name, "arguments": arguments},
        }
        for index, (call, arguments) in enumerate(
            zip(turn.tool_calls, _arguments(turn), strict=True)
        )
    ]


def _chat_envelope(body: dict[str, Any], ids: Ids, obj: str) -> dict[str, Any]:
    return {
        "id": ids.make("chatcmpl-", length=29),
        "object": obj,
        "created": CREATED,
        "model": body["model"],
        "service_tier": "default",
        "system_fingerprint": "fp_standin",
    }


def chat_reply(body: dict[str, Any], turn: Turn, ids: Ids) -> Reply:
    if body.get("stream"):
        return sse_reply(_chat_frames(body, turn, ids), headers(ids))
    message: dict[str, Any] = {
        "role": "assistant",
        "content": turn.text,
        "refusal": None,
        "annotations": [],
    }
    if turn.tool_calls:
        message["tool_calls"] = _chat_tool_calls(turn, ids)
    choice = {
        "index": 0,
        "message": message,
        "logprobs": None,
        "finish_reason": "tool_calls" if turn.tool_calls else "stop",
    }
    completion = {
        **_chat_envelope(body, ids, "chat.completion"),
        "choices": [choice],
        "usage": _chat_usage(body, turn),
    }
    return json_reply(200, completion, headers(ids), pretty=True)


def _chat_deltas(turn: Turn, ids: Ids) -> list[dict[str, Any]]:
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": "", "refusal": None}]
    deltas += [{"content": word} for word in words(turn.text or "")]
    for index, call in enumerate(_chat_tool_calls(turn, ids)):
        function = call["function"]
        head = {"index": index, "id": call["id"], "type": "function"}
        opening = {"name": function["name"], "arguments": ""}
        deltas.append({"tool_calls": [{**head, "function": opening}]})
        deltas += [
            {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
            for piece in pieces(function["arguments"])
        ]
    return deltas


def _chat_frames(body: dict[str, Any], turn: Turn, ids: Ids) -> list[bytes]:
    """Chunks as `data:` events, then usage (if stream_options.include_usage) and [DONE]."""
    options = body.get("stream_options")
    with_usage = isinstance(options, dict) and options.get("include_usage") is True
    envelope = _chat_envelope(body, ids, "chat.completion.chunk")
    finish: dict[str, Any] = {
        "delta": {},
        "finish_reason": "tool_calls" if turn.tool_calls else "stop",
    }
    chunks = [
        {**envelope, "choices": [{"index": 0, "logprobs": None, "finish_reason": None, **part}]}
        for part in [{"delta": delta} for delta in _chat_deltas(turn, ids)] + [finish]
    ]
    if with_usage:
        chunks = [{**chunk, "usage": None} for chunk in chunks]
        chunks.append({**envelope, "choices": [], "usage": _chat_usage(body, turn)})
    return [sse_frame(json_bytes(chunk)) for chunk in chunks] + [sse_frame("[DONE]")]
