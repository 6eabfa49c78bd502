"""One request and its answer on the wire: the agent's call as the server read it, the writer
the answer goes to, and the two ways to answer: forward upstream (passing a stream on event by
event, redacted, while recording it) or replay a recorded entry.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from harness.cassette.model_entry import ModelEntry, SseEvent
from harness.cassette.recorder import redact_event_data
from harness.cassette.redact import Redactor
from harness.proxy.shapes import JSON, kept_headers
from harness.proxy.sse import SseParser, encode_event, replay_chunks
from harness.proxy.upstream import UpstreamClient, body_chunks

if TYPE_CHECKING:
    import random

EVENT_STREAM = "text/event-stream"
_UNPARSED: Any = object()


class ResponseWriter(Protocol):
    """Where an answer goes (the server's connection). A stream is one write per piece."""

    async def json(self, status: int, headers: Mapping[str, str], body: bytes) -> None: ...

    async def start_stream(self, status: int, headers: Mapping[str, str]) -> None: ...

    async def chunk(self, data: bytes) -> None: ...

    async def end_stream(self) -> None: ...


class ModelCall(msgspec.Struct):
    """An agent's request, routed: its API and the provider's path (`/v1/messages`)."""

    api: str
    method: str
    path: str
    query: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    parsed: Any = _UNPARSED  # the JSON body, once json_body() has read it

    def json_body(self) -> Any:
        """The JSON object sent (None for a GET).

        Raises:
            ValueError: the body is missing, not JSON, or not an object.
        """
        if self.parsed is not _UNPARSED:
            return self.parsed
        if self.method == "GET":
            self.parsed = None
            return None
        if not self.body.strip():
            raise ValueError(f"{self.method} {self.path}: the request has no JSON body")
        try:
            parsed = msgspec.json.decode(self.body)
        except msgspec.DecodeError as exc:
            message = f"{self.method} {self.path}: the body is not valid JSON ({exc})"
            raise ValueError(message) from None
        if not isinstance(parsed, dict):
            raise ValueError(f"{self.method} {self.path}: the body must be a JSON object")
        self.parsed = parsed
        return parsed

    @property
    def model(self) -> str | None:
        try:
            body = self.json_body()
        except ValueError:
            return None
        model = body.get("model") if isinstance(body, dict) else None
        return model if isinstance(model, str) else None


class Exchange(msgspec.Struct):
    """A call on its way upstream; `started`: the agent has the status line already."""

    call: ModelCall
    stored_request: Any
    redactor: Redactor | None
    started: bool = False

    def entry(self, status: int, headers: dict[str, str], **answer: Any) -> ModelEntry:
        call = self.call
        return ModelEntry(
            api=call.api,
            method=call.method,
            path=call.path,
            request=self.stored_request,
            status=status,
            headers=headers,
            **answer,
        )


async def forward(
    upstream: UpstreamClient, exchange: Exchange, writer: ResponseWriter
) -> ModelEntry:
    """Send the call upstream and the answer to the agent, redacted as replay will give it.

    Raises:
        UpstreamUnavailable: no answer after the retries, or the stream broke off.
    """
    call = exchange.call
    async with upstream.open(
        call.api, call.method, call.path, call.query, call.headers, call.body
    ) as response:
        headers = kept_headers(response.headers)
        if headers.get("content-type", "").startswith(EVENT_STREAM):
            events = await _pass_stream(response, exchange, writer, headers)
            return exchange.entry(response.status_code, headers, events=events)
        raw = b"".join([chunk async for chunk in body_chunks(response)])
        body = _decoded(raw)
        if exchange.redactor is not None:
            body = exchange.redactor.value(body)
        exchange.started = True
        await writer.json(response.status_code, headers, encode_body(body))
        return exchange.entry(response.status_code, headers, body=body)


async def _pass_stream(
    response: Any, exchange: Exchange, writer: ResponseWriter, headers: dict[str, str]
) -> list[SseEvent]:
    exchange.started = True
    await writer.start_stream(response.status_code, headers)
    parser = SseParser()
    events: list[SseEvent] = []
    started = time.monotonic()

    async def send(found: list[SseEvent]) -> None:
        for event in found:
            if exchange.redactor is not None:
                data = redact_event_data(exchange.redactor, event.data)
                event = event if data == event.data else msgspec.structs.replace(event, data=data)
            events.append(event)
            await writer.chunk(encode_event(event))

    async for chunk in body_chunks(response):
        await send(parser.feed(chunk, _ms_since(started)))
    await send(parser.close(_ms_since(started)))
    await writer.end_stream()
    return events


async def replay_entry(
    entry: ModelEntry, writer: ResponseWriter, *, scale: float | None, chaos: random.Random | None
) -> None:
    """Answer with a recorded entry: its JSON body, or its events one write each."""
    headers = dict(entry.headers)
    if entry.events is None:
        headers.setdefault("content-type", JSON)
        await writer.json(entry.status, headers, encode_body(entry.body))
        return
    headers["content-type"] = headers.get("content-type", EVENT_STREAM)
    await writer.start_stream(entry.status, headers)
    async for piece in replay_chunks(entry.events, scale=scale, chaos=chaos):
        await writer.chunk(piece)
    await writer.end_stream()


def _ms_since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def _decoded(raw: bytes) -> Any:
    """A JSON answer as its value; anything else as text (an HTML error page, say)."""
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return raw.decode("utf-8", "replace")


def encode_body(body: Any) -> bytes:
    if isinstance(body, str):
        return body.encode()
    return msgspec.json.encode(body)
