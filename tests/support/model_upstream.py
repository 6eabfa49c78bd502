"""A small stand-in for the OpenAI and Anthropic APIs, for the proxy's own tests (issue 14b's
tests/support/providers is the full one): stdlib http.server in a thread, answers derived from
the request (so recordings are stable), SSE split inside UTF-8 characters, usage everywhere.

A chat completion that offers `tools` gets a rule-based tool-calling model: it calls get_order
when the user names an order (ORD-nnnn), then search_kb with the question, then answers from
the tool results (how `harness init --template openai`'s cassettes are recorded).

Scripting: `upstream.fail_next(n, status=429)` answers the next n requests with that status
(and `retry-after: 0`); a user message containing "BAD REQUEST" gets a provider 400. Every
request is kept in `upstream.requests` (method, path, headers, body) to check what was sent.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Upstream:
    port: int = 0
    requests: list[Seen] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)

    @property
    def openai_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail_next(self, count: int, status: int = 429) -> None:
        self.failures.extend([status] * count)


def _last_text(body: dict[str, Any]) -> str:
    messages = body.get("messages") or body.get("input") or []
    if isinstance(messages, str):
        return messages
    last = messages[-1] if messages else {}
    content = last.get("content", "") if isinstance(last, dict) else ""
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content)


def _frame(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _reply(body: dict[str, Any]) -> str:
    return f"Écho «{_last_text(body)}» ✓"


def tool_model(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The next assistant message of a support agent: get_order, search_kb, then an answer."""
    question = next(str(m["content"]) for m in messages if m.get("role") == "user")
    called = [
        call["function"]["name"]
        for m in messages
        if m.get("role") == "assistant"
        for call in m.get("tool_calls") or []
    ]
    results = [json.loads(m["content"]) for m in messages if m.get("role") == "tool"]
    order = re.search(r"ORD-\d+", question)
    if order and "get_order" not in called:
        return _tool_call(len(messages), "get_order", {"order_id": order[0]})
    if "search_kb" not in called:
        query = re.sub(r"[^\w\s-]", "", question.split(" (order")[0]).lower()
        return _tool_call(len(messages), "search_kb", {"query": query, "limit": 1})
    reply = []
    for result in results:
        if isinstance(result, dict) and "error" in result and order:
            reply.append(f"I could not find order {order[0]}; please check the number.")
        elif isinstance(result, dict) and result.get("status") == "shipped":
            reply.append(f"Your order {result['id']} has shipped with {result['carrier']}.")
        elif isinstance(result, dict) and "status" in result:
            reply.append(f"Your order {result['id']} is {result['status']}.")
        elif isinstance(result, list) and result:
            reply.append(f"See: {result[0]['title']}.")
    return {"role": "assistant", "content": " ".join(reply) or "Thanks for your question."}


def _tool_call(turn: int, name: str, args: dict[str, Any]) -> dict[str, Any]:
    call = {
        "id": f"call_{turn}",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(args)},
    }
    return {"role": "assistant", "content": None, "tool_calls": [call]}


class _Handler(BaseHTTPRequestHandler):
    upstream: Upstream
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._seen(None)
        if self.path == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": "gpt-test", "object": "model"}]})
        else:
            self._json(404, {"error": {"message": "no such route", "type": "not_found"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        self._seen(body)
        if self.upstream.failures:
            status = self.upstream.failures.pop(0)
            self._json(status, {"error": {"message": "slow down", "type": "rate_limit"}})
            return
        if "BAD REQUEST" in _last_text(body):
            self._json(400, {"error": {"message": "bad prompt", "type": "invalid_request_error"}})
            return
        route = {
            "/v1/chat/completions": self._chat,
            "/v1/responses": self._responses,
            "/v1/messages": self._messages,
            "/v1/messages/count_tokens": self._count,
        }.get(self.path.split("?")[0])
        if route is None:
            self._json(404, {"error": {"message": "no such route"}})
        else:
            route(body)

    def _seen(self, body: Any) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.upstream.requests.append(Seen(self.command, self.path, headers, body))

    def _json(self, status: int, document: Any) -> None:
        data = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("x-request-id", f"req_{len(self.upstream.requests)}")
        self.send_header("set-cookie", "session=secret-cookie-value")
        if status in (429, 503):
            self.send_header("retry-after", "0")
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, frames: list[str]) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        data = "".join(frames).encode()
        # Cut every 7 bytes: inside events, lines and UTF-8 characters.
        for start in range(0, len(data), 7):
            piece = data[start : start + 7]
            self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def _chat(self, body: dict[str, Any]) -> None:
        text, model = _reply(body), body.get("model", "gpt-test")
        usage = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": text}
            if body.get("tools"):
                message = tool_model(body["messages"])
                usage = {
                    "prompt_tokens": len(json.dumps(body)) // 4,
                    "completion_tokens": len(json.dumps(message)) // 4,
                    "total_tokens": (len(json.dumps(body)) + len(json.dumps(message))) // 4,
                }
            self._json(
                200,
                {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "created": 1,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": message,
                            "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
                        }
                    ],
                    "usage": usage,
                },
            )
            return
        frames = []
        for word in [text[: len(text) // 2], text[len(text) // 2 :]]:
            chunk = {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": model,
                "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}],
            }
            frames.append(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n")
        last = {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": model,
            "choices": [],
            "usage": usage,
        }
        frames += [f"data: {json.dumps(last)}\n\n", "data: [DONE]\n\n"]
        self._stream(frames)

    def _responses(self, body: dict[str, Any]) -> None:
        text, model = _reply(body), body.get("model", "gpt-test")
        response = {
            "id": "resp_1",
            "object": "response",
            "created_at": 1,
            "model": model,
            "status": "completed",
            "output": [
                {
                    "type": "message",
                    "id": "msg_1",
                    "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": text, "annotations": []}],
                }
            ],
            "usage": {"input_tokens": 5, "output_tokens": 3, "total_tokens": 8},
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
        }
        if not body.get("stream"):
            self._json(200, response)
            return
        events = [
            ("response.created", {"type": "response.created", "response": response}),
            (
                "response.output_text.delta",
                {"type": "response.output_text.delta", "delta": text, "output_index": 0},
            ),
            ("response.completed", {"type": "response.completed", "response": response}),
        ]
        self._stream([_frame(name, data) for name, data in events])

    def _messages(self, body: dict[str, Any]) -> None:
        text, model = _reply(body), body.get("model", "claude-test")
        message = {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 9, "output_tokens": 4},
        }
        if not body.get("stream"):
            self._json(200, message)
            return
        start = {**message, "content": [], "usage": {"input_tokens": 9, "output_tokens": 1}}
        events = [
            ("message_start", {"type": "message_start", "message": start}),
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            ("ping", {"type": "ping"}),
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": text},
                },
            ),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": 4},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        self._stream([_frame(name, data) for name, data in events])

    def _count(self, body: dict[str, Any]) -> None:
        self._json(200, {"input_tokens": len(_last_text(body))})


@contextlib.contextmanager
def model_upstream() -> Iterator[Upstream]:
    """A running stand-in on 127.0.0.1 (a free port), stopped at the end."""
    upstream = Upstream()
    handler = type("Handler", (_Handler,), {"upstream": upstream})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    upstream.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield upstream
    finally:
        server.shutdown()
        server.server_close()
