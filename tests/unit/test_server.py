"""harness.proxy.server and session on the wire, with httpx as the client: routing by the
placeholder key, provider-shaped errors that the SDKs will not retry, what is logged on the
attempt, and a replayed stream written one event per chunk."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.cassette.format import encode_entry
from harness.cassette.gateway import ReplayGateway
from harness.cassette.model_entry import ModelEntry, SseEvent
from harness.cassette.redact import Redactor
from harness.config.model_proxy import ModelProxySpec
from harness.config.schema import Budgets, RecordMode
from harness.proxy.server import ModelProxy, open_model_proxy
from harness.proxy.session import ModelSession
from harness.proxy.settings import proxy_settings

REQUEST = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
EVENTS = [SseEvent(0, '{"type":"message_start"}', "message_start"), SseEvent(1, "[DONE]")]


@pytest.fixture
async def proxy(tmp_path: Path) -> AsyncIterator[ModelProxy]:
    cassette = tmp_path / "c.jsonl"
    entries = [
        ModelEntry("openai", "POST", "/v1/chat/completions", REQUEST, 200, body={"ok": 1}),
        ModelEntry(
            "anthropic", "POST", "/v1/messages", {**REQUEST, "stream": True}, 200, events=EVENTS
        ),
    ]
    cassette.write_bytes(b"".join(encode_entry(entry) for entry in entries))
    settings = proxy_settings(
        ModelProxySpec(), mode=RecordMode.replay, strict=False, redactor=Redactor(environ={})
    )
    async with open_model_proxy(settings) as running:
        running.gateway = ReplayGateway(cassette, strict=False)  # type: ignore[attr-defined]
        yield running


def session_of(proxy: ModelProxy) -> tuple[ModelSession, dict[str, str], list[Any]]:
    route = proxy.open_route()
    session = proxy.session(proxy.gateway, Budgets(), "a1")  # type: ignore[attr-defined]
    events: list[Any] = []
    session.on_event = lambda kind, fields: events.append((kind, fields))
    route.bind(session)
    return session, route.env(), events


async def test_routing_errors_and_logging(proxy: ModelProxy) -> None:
    session, env, events = session_of(proxy)
    base = env["OPENAI_BASE_URL"]
    auth = {"authorization": f"Bearer {env['OPENAI_API_KEY']}"}
    async with httpx.AsyncClient() as client:
        stranger = await client.post(f"{base}/chat/completions", json=REQUEST)
        assert stranger.status_code == 401 and stranger.headers["x-should-retry"] == "false"
        unknown = await client.post(f"{base}/embeddings", json=REQUEST, headers=auth)
        assert unknown.status_code == 404
        assert unknown.json()["error"]["type"] == "invalid_request_error"
        malformed = await client.post(f"{base}/chat/completions", content=b"{", headers=auth)
        assert malformed.status_code == 400 and "not valid JSON" in malformed.text
        hit = await client.post(f"{base}/chat/completions", json=REQUEST, headers=auth)
        assert hit.json() == {"ok": 1}
        miss = await client.post(f"{base}/chat/completions", json=REQUEST, headers=auth)
        assert miss.status_code == 400 and miss.headers["x-should-retry"] == "false"
        assert miss.json()["error"]["type"] == "cassette_miss"
    assert session.fatal is not None and session.fatal.kind == "model_miss"
    assert "every recording of it was already used" in session.fatal.message
    kinds = [kind for kind, _ in events]
    assert kinds == ["log", "model_error", "model_call"]  # 404 logged, bad body, the hit
    assert events[2][1]["source"] == "replay" and events[2][1]["recorded_at"].endswith(":1")


async def test_anthropic_stream_replays_one_chunk_per_event(proxy: ModelProxy) -> None:
    session, env, _ = session_of(proxy)
    headers = {"x-api-key": env["ANTHROPIC_API_KEY"], "anthropic-version": "2023-06-01"}
    url = f"{env['ANTHROPIC_BASE_URL']}/v1/messages"
    async with httpx.AsyncClient() as client:
        async with client.stream(
            "POST", url, json={**REQUEST, "stream": True}, headers=headers
        ) as answer:
            assert answer.headers["content-type"].startswith("text/event-stream")
            assert "content-encoding" not in answer.headers
            chunks = [chunk async for chunk in answer.aiter_raw()]
        assert b"".join(chunks) == (
            b'event: message_start\ndata: {"type":"message_start"}\n\ndata: [DONE]\n\n'
        )
        assert session.fatal is None
        body = {**REQUEST, "stream": True, "model": "other"}
        other = await client.post(url, json=body, headers=headers)
    assert other.json()["type"] == "error" and other.json()["error"]["type"] == "cassette_miss"
