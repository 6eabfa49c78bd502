"""The provider stand-in (tests/support/providers) against the official SDKs that parse it: every
route, streamed and not, sync and async; tool calls over several turns; the raw wire (SSE
framing, writes cut inside UTF-8 characters, gzip, request ids); and the faults harness's model
proxy must survive (429 with retry-after, 5xx, provider-shaped 4xx).
"""

from __future__ import annotations

import gzip
import json
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anthropic
import anyio
import httpx
import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.cli_runs import REPO
from tests.support.providers import (
    Providers,
    StandIn,
    load_script,
    serve_providers,
    split_writes,
)
from tests.support.providers.standin import Api
from tests.support.strategies import PROPS, json_values, tricky_text

KEY = "sk-standin-test"
WEATHER_SCRIPT: dict[str, Any] = {
    "rules": [
        {
            "match": "weather",
            "turns": [
                {
                    "text": "Let me check → ",
                    "tool_calls": [{"name": "get_weather", "arguments": {"city": "Zürich"}}],
                },
                {"text": "Zürich: {tool_results} ☀️"},
            ],
        },
        {
            "match": "busy",
            "fail_first": {"times": 2, "status": 429, "retry_after": "0"},
            "turns": [{"text": "served after two 429s"}],
        },
        {
            "match": "overloaded",
            "fail_first": {"times": 5, "status": 529},
            "turns": [{"text": "x"}],
        },
        {
            "match": "refuse",
            "turns": [{"error": {"status": 400, "message": "bad tool schema"}}],
        },
    ]
}
WEATHER = load_script(WEATHER_SCRIPT)
USER: Any = [{"role": "user", "content": "What is the weather in Zürich?"}]
TOOL = {"name": "get_weather", "description": "Weather of a city", "parameters": {"type": "object"}}

# What each API's first turn must come back as, parsed by its SDK: (text, [(tool, arguments)]).
FIRST_TURN = ("Let me check → ", [("get_weather", {"city": "Zürich"})])


def _openai(providers: Providers, **options: Any) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=providers.openai_base_url, api_key=KEY, **options)


def _anthropic(providers: Providers, **options: Any) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=providers.anthropic_base_url, api_key=KEY, **options)


Parsed = tuple[str, list[tuple[str, Any]]]


async def _chat(providers: Providers, stream: bool) -> Parsed:
    async with _openai(providers) as client:
        return await _ask_chat(client, stream)


async def _ask_chat(client: openai.AsyncOpenAI, stream: bool) -> Parsed:
    tools: Any = [{"type": "function", "function": TOOL}]
    if not stream:
        completion = await client.chat.completions.create(
            model="gpt-4o-mini", messages=USER, tools=tools
        )
        message = completion.choices[0].message
        calls = [
            (c.function.name, json.loads(c.function.arguments))
            for c in message.tool_calls or []
            if c.type == "function"
        ]
        return message.content or "", calls
    async with client.chat.completions.stream(model="gpt-4o-mini", messages=USER, tools=tools) as s:
        final = await s.get_final_completion()
    message = final.choices[0].message
    calls = [(c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls or []]
    return message.content or "", calls


async def _responses(providers: Providers, stream: bool) -> Parsed:
    async with _openai(providers) as client:
        return await _ask_responses(client, stream)


async def _ask_responses(client: openai.AsyncOpenAI, stream: bool) -> Parsed:
    tools: Any = [{"type": "function", **TOOL}]
    response: openai.types.responses.Response
    if stream:
        async with client.responses.stream(model="gpt-4o-mini", input=USER, tools=tools) as s:
            response = await s.get_final_response()
    else:
        response = await client.responses.create(model="gpt-4o-mini", input=USER, tools=tools)
    calls = [
        (i.name, json.loads(i.arguments)) for i in response.output if i.type == "function_call"
    ]
    return response.output_text, calls


async def _messages(providers: Providers, stream: bool) -> Parsed:
    async with _anthropic(providers) as client:
        return await _ask_messages(client, stream)


async def _ask_messages(client: anthropic.AsyncAnthropic, stream: bool) -> Parsed:
    tools: Any = [{"name": "get_weather", "input_schema": {"type": "object"}}]
    options: Any = {"model": "claude-sonnet-4-5", "max_tokens": 256, "messages": USER}
    if stream:
        async with client.messages.stream(**options, tools=tools) as s:
            message = await s.get_final_message()
    else:
        message = await client.messages.create(**options, tools=tools)
    text = "".join(block.text for block in message.content if block.type == "text")
    calls = [(b.name, b.input) for b in message.content if b.type == "tool_use"]
    return text, calls


CLIENTS: dict[str, Callable[[Providers, bool], Awaitable[Parsed]]] = {
    "chat": _chat,
    "responses": _responses,
    "messages": _messages,
}


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("api", list(CLIENTS))
async def test_each_sdk_parses_the_scripted_first_turn(api: str, stream: bool) -> None:
    async with serve_providers(WEATHER) as providers:
        assert await CLIENTS[api](providers, stream) == FIRST_TURN
        [request] = providers.received
        assert request.status == 200
        assert request.json().get("stream", False) is stream


async def test_sync_clients_parse_both_shapes_too() -> None:
    def ask(providers: Providers) -> list[str]:
        with (
            openai.OpenAI(base_url=providers.openai_base_url, api_key=KEY) as chat,
            anthropic.Anthropic(base_url=providers.anthropic_base_url, api_key=KEY) as claude,
        ):
            return _ask_sync(chat, claude)

    async with serve_providers(WEATHER) as providers:
        texts = await anyio.to_thread.run_sync(ask, providers)
    assert texts == ["You said: hello"] * 3


def _ask_sync(chat: openai.OpenAI, claude: anthropic.Anthropic) -> list[str]:
    texts = [chat.responses.create(model="gpt-4o-mini", input="hello").output_text]
    chunks = chat.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "hello"}],
        stream=True,
    )
    texts.append("".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices))
    with claude.messages.stream(
        model="claude-haiku-4-5", max_tokens=64, messages=[{"role": "user", "content": "hello"}]
    ) as stream:
        texts.append("".join(stream.text_stream))
    return texts


async def test_tool_results_come_back_in_the_next_turn_of_every_api() -> None:
    async with (
        serve_providers(WEATHER) as providers,
        _openai(providers) as client,
        _anthropic(providers) as claude,
    ):
        chat = await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                *USER,
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": "{}"},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "12 °C"},
            ],
        )
        first = await client.responses.create(model="gpt-4o-mini", input=USER)
        call = next(item for item in first.output if item.type == "function_call")
        chained = await client.responses.create(
            model="gpt-4o-mini",
            previous_response_id=first.id,
            input=[{"type": "function_call_output", "call_id": call.call_id, "output": "12 °C"}],
        )
        message = await claude.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=256,
            messages=[
                *USER,
                {
                    "role": "assistant",
                    "content": [
                        {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {}}
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "t1",
                            "content": [{"type": "text", "text": "12 °C"}],
                        }
                    ],
                },
            ],
        )
    assert chat.choices[0].message.content == "Zürich: 12 °C ☀️"
    assert chat.choices[0].finish_reason == "stop"
    assert chained.output_text == "Zürich: 12 °C ☀️"
    assert message.content[0].type == "text" and message.content[0].text == "Zürich: 12 °C ☀️"
    assert message.stop_reason == "end_turn"


# The raw wire, read with httpx: framing, writes, compression, ids ---------------------------

OPENAI_HEADERS = {"authorization": f"Bearer {KEY}"}
ANTHROPIC_HEADERS = {
    "x-api-key": KEY,
    "anthropic-version": "2023-06-01",
}
CHAT = {
    "model": "gpt-4o-mini",
    "messages": USER,
    "stream": True,
    "stream_options": {"include_usage": True},
}
RESPONSES = {"model": "gpt-4o-mini", "input": USER, "stream": True}
MESSAGES = {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": USER, "stream": True}


async def _raw(
    url: str, body: Any, headers: dict[str, str], method: str = "POST"
) -> tuple[httpx.Response, list[bytes]]:
    """The response and its body exactly as the chunks arrived (no decoding of any kind; not
    compressed unless `headers` asks)."""
    headers = {"accept-encoding": "identity", **headers}
    async with httpx.AsyncClient() as client:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = client.build_request(
            method, url, content=data if method == "POST" else None, headers=headers
        )
        response = await client.send(request, stream=True)
        chunks = [chunk async for chunk in response.aiter_raw()]
        await response.aclose()
    return response, chunks


def _frames(chunks: list[bytes]) -> list[bytes]:
    body = b"".join(chunks)
    assert body.endswith(b"\n\n"), body[-40:]
    return body[:-2].split(b"\n\n")


async def test_chat_stream_is_data_lines_ending_with_done() -> None:
    async with serve_providers(WEATHER) as providers:
        response, chunks = await _raw(
            providers.openai_base_url + "/chat/completions", CHAT, OPENAI_HEADERS
        )
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["transfer-encoding"] == "chunked"
    frames = _frames(chunks)
    assert all(frame.startswith(b"data: ") and b"\n" not in frame for frame in frames)
    assert frames[-1] == b"data: [DONE]"
    chunks_json = [json.loads(frame[6:]) for frame in frames[:-1]]
    assert {chunk["object"] for chunk in chunks_json} == {"chat.completion.chunk"}
    assert chunks_json[-1]["choices"] == [] and chunks_json[-1]["usage"]["total_tokens"] > 0
    assert all(chunk["usage"] is None for chunk in chunks_json[:-1])
    assert chunks_json[-2]["choices"][0]["finish_reason"] == "tool_calls"


async def test_responses_stream_is_typed_events_from_created_to_completed() -> None:
    async with serve_providers(WEATHER) as providers:
        _, chunks = await _raw(providers.openai_base_url + "/responses", RESPONSES, OPENAI_HEADERS)
    events = []
    for frame in _frames(chunks):
        event_line, data_line = frame.split(b"\n")
        assert event_line.startswith(b"event: ") and data_line.startswith(b"data: ")
        data = json.loads(data_line[6:])
        assert data["type"] == event_line[7:].decode()
        events.append(data)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert events[0]["type"] == "response.created" and events[-1]["type"] == "response.completed"
    assert events[-1]["response"]["usage"]["output_tokens"] > 0
    assert "response.function_call_arguments.done" in [e["type"] for e in events]


async def test_anthropic_stream_is_event_and_data_pairs_with_usage() -> None:
    async with serve_providers(WEATHER) as providers:
        _, chunks = await _raw(
            providers.anthropic_base_url + "/v1/messages", MESSAGES, ANTHROPIC_HEADERS
        )
    kinds = []
    for frame in _frames(chunks):
        event_line, data_line = frame.split(b"\n")
        kind = event_line.removeprefix(b"event: ").decode()
        assert json.loads(data_line.removeprefix(b"data: "))["type"] == kind
        kinds.append(kind)
    text_deltas = kinds.index("content_block_stop") - kinds.index("content_block_start") - 1
    assert kinds[:3] == ["message_start", "ping", "content_block_start"]
    assert kinds[-2:] == ["message_delta", "message_stop"]
    assert kinds.count("content_block_start") == kinds.count("content_block_stop") == 2
    assert text_deltas == 4  # one per word: "Let ", "me ", "check ", "→ "
    last = json.loads(_frames(chunks)[-2].split(b"\n")[1][6:])
    assert last["usage"]["output_tokens"] > 0 and last["delta"]["stop_reason"] == "tool_use"


async def test_stream_writes_are_cut_inside_utf8_characters() -> None:
    async with serve_providers(WEATHER) as providers:
        _, chunks = await _raw(
            providers.openai_base_url + "/chat/completions", CHAT, OPENAI_HEADERS
        )
    one_per_event = load_script(
        {"rules": [{"match": "weather", "turns": WEATHER.rules[0].turns}]} | {"chunking": "events"}
    )
    async with serve_providers(one_per_event) as providers:
        _, events = await _raw(
            providers.openai_base_url + "/chat/completions", CHAT, OPENAI_HEADERS
        )
    assert b"".join(chunks) == b"".join(events)
    assert events == [frame + b"\n\n" for frame in _frames(events)]
    assert len(chunks) > len(events)

    def decodes(chunk: bytes) -> bool:
        try:
            chunk.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True

    assert not all(map(decodes, chunks)), "no write was cut inside a character"
    # some writes end one event and begin the next
    assert any(b"\n\n" in chunk and not chunk.endswith(b"\n\n") for chunk in chunks)


async def test_json_bodies_are_gzipped_when_the_client_asks() -> None:
    plain = {**CHAT, "stream": False}
    gzip_headers = {**OPENAI_HEADERS, "accept-encoding": "gzip, deflate"}
    async with serve_providers(WEATHER) as providers:
        url = providers.openai_base_url + "/chat/completions"
        asked, zipped = await _raw(url, plain, gzip_headers)
        _, identity = await _raw(url, plain, OPENAI_HEADERS)
        unasked, _ = await _raw(url, plain, OPENAI_HEADERS)
    assert asked.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in unasked.headers
    body = b"".join(zipped)
    assert body[:2] == b"\x1f\x8b" and int(asked.headers["content-length"]) == len(body)
    assert json.loads(gzip.decompress(body))["object"] == "chat.completion"
    assert b"".join(identity).startswith(b'{\n  "id": "chatcmpl-')  # indented, as OpenAI's


async def test_streams_are_gzipped_only_when_the_script_says_and_the_sdk_still_parses_them() -> (
    None
):
    async with serve_providers(load_script({**WEATHER_SCRIPT, "gzip_streams": True})) as providers:
        gzip_headers = {**OPENAI_HEADERS, "accept-encoding": "gzip"}
        response, chunks = await _raw(
            providers.openai_base_url + "/chat/completions", CHAT, gzip_headers
        )
        assert response.headers["content-encoding"] == "gzip" and chunks[0][:2] == b"\x1f\x8b"
        assert await _chat(providers, stream=True) == FIRST_TURN
    async with serve_providers(WEATHER) as providers:
        response, _ = await _raw(
            providers.openai_base_url + "/chat/completions", CHAT, gzip_headers
        )
        assert "content-encoding" not in response.headers


async def test_request_ids_and_bodies_depend_only_on_the_request() -> None:
    plain = {**CHAT, "stream": False}
    replies = []
    for _ in range(2):
        async with serve_providers(WEATHER) as providers:
            url = providers.openai_base_url + "/chat/completions"
            first, chunks = await _raw(url, plain, OPENAI_HEADERS)
            again, _ = await _raw(url, plain, OPENAI_HEADERS)
            claude, stream = await _raw(
                providers.anthropic_base_url + "/v1/messages", MESSAGES, ANTHROPIC_HEADERS
            )
        replies.append((first.headers["x-request-id"], b"".join(chunks), b"".join(stream)))
        assert first.headers["x-request-id"].startswith("req_")
        assert again.headers["x-request-id"] != first.headers["x-request-id"]  # a second call
        assert claude.headers["request-id"].startswith("req_01")
    assert replies[0] == replies[1]


async def test_the_sdks_read_the_request_ids() -> None:
    async with (
        serve_providers(WEATHER) as providers,
        _openai(providers) as client,
        _anthropic(providers) as claude,
    ):
        raw = await client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=USER
        )
        message = await claude.messages.create(
            model="claude-sonnet-4-5", max_tokens=64, messages=USER
        )
    assert raw.request_id == raw.headers["x-request-id"] and raw.request_id.startswith("req_")
    assert message._request_id is not None and message._request_id.startswith("req_01")


# Faults: what harness's proxy must retry, and what it must record as it came ----------------

BUSY: Any = [{"role": "user", "content": "are you busy?"}]


async def test_429_with_retry_after_is_served_after_the_scripted_failures() -> None:
    async with serve_providers(WEATHER) as providers, _openai(providers, max_retries=2) as client:
        completion = await client.chat.completions.create(model="gpt-4o-mini", messages=BUSY)
        assert completion.choices[0].message.content == "served after two 429s"
        assert [r.status for r in providers.received] == [429, 429, 200]
        response, chunks = await _raw(
            providers.openai_base_url + "/chat/completions",
            {"model": "gpt-4o-mini", "messages": BUSY, "temperature": 0},
            OPENAI_HEADERS,
        )
    assert response.status_code == 429 and response.headers["retry-after"] == "0"
    error = json.loads(b"".join(chunks))["error"]
    assert error["type"] == "requests" and error["code"] == "rate_limit_exceeded"


async def test_an_sdk_that_stops_retrying_sees_the_provider_shaped_rate_limit() -> None:
    async with (
        serve_providers(WEATHER) as providers,
        _openai(providers, max_retries=0) as client,
        _anthropic(providers, max_retries=0) as claude,
    ):
        with pytest.raises(openai.RateLimitError) as limited:
            await client.responses.create(model="gpt-4o-mini", input="busy?")
        with pytest.raises(anthropic.APIStatusError) as overloaded:
            await claude.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=64,
                messages=[{"role": "user", "content": "overloaded?"}],
            )
    assert limited.value.status_code == 429 and limited.value.code == "rate_limit_exceeded"
    assert overloaded.value.status_code == 529
    assert overloaded.value.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
        "request_id": overloaded.value.request_id,
    }
    assert overloaded.value.response.headers["x-should-retry"] == "true"


async def test_scripted_400s_come_back_in_each_providers_shape() -> None:
    refuse: Any = [{"role": "user", "content": "please refuse"}]
    async with (
        serve_providers(WEATHER) as providers,
        _openai(providers) as client,
        _anthropic(providers) as claude,
    ):
        with pytest.raises(openai.BadRequestError) as chat_error:
            await client.chat.completions.create(model="gpt-4o-mini", messages=refuse, stream=True)
        with pytest.raises(anthropic.BadRequestError) as claude_error:
            await claude.messages.create(model="claude-sonnet-4-5", max_tokens=9, messages=refuse)
        statuses = [r.status for r in providers.received]
    assert statuses == [400, 400]  # never retried: the SDKs do not retry a 400
    assert chat_error.value.body == {
        "message": "bad tool schema",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    assert claude_error.value.body is not None
    assert claude_error.value.body["error"] == {  # type: ignore[index]
        "type": "invalid_request_error",
        "message": "bad tool schema",
    }


@pytest.mark.parametrize(
    ("api", "path", "body", "headers", "status", "message"),
    [
        ("openai", "/nope", CHAT, OPENAI_HEADERS, 404, "Invalid URL (POST /v1/nope)"),
        ("openai", "/chat/completions", b"{not json", OPENAI_HEADERS, 400, "We could not parse"),
        (
            "openai",
            "/chat/completions",
            {"messages": USER},
            OPENAI_HEADERS,
            400,
            "you must provide a model",
        ),
        ("openai", "/chat/completions", CHAT, {}, 401, "You didn't provide an API key."),
        ("openai", "/responses", {"model": "m"}, OPENAI_HEADERS, 400, "Missing required parameter"),
        ("anthropic", "/v1/nope", MESSAGES, ANTHROPIC_HEADERS, 404, "Not Found"),
        (
            "anthropic",
            "/v1/messages",
            {**MESSAGES, "max_tokens": None},
            ANTHROPIC_HEADERS,
            400,
            "max_tokens",
        ),
        ("anthropic", "/v1/messages", MESSAGES, {"x-api-key": KEY}, 400, "anthropic-version"),
        (
            "anthropic",
            "/v1/messages",
            MESSAGES,
            {"anthropic-version": "2023-06-01"},
            401,
            "x-api-key",
        ),
        (
            "anthropic",
            "/v1/messages",
            {**MESSAGES, "messages": []},
            ANTHROPIC_HEADERS,
            400,
            "messages",
        ),
    ],
)
async def test_bad_requests_get_the_providers_error_shape(
    api: str, path: str, body: Any, headers: dict[str, str], status: int, message: str
) -> None:
    async with serve_providers(WEATHER) as providers:
        base = providers.openai_base_url if api == "openai" else providers.anthropic_base_url
        response, chunks = await _raw(base + path, body, headers)
    assert response.status_code == status
    payload = json.loads(b"".join(chunks))
    if api == "openai":
        assert set(payload["error"]) == {"message", "type", "param", "code"}
        assert payload["error"]["message"].startswith(message)
        assert response.headers["x-request-id"].startswith("req_")
    else:
        assert payload["type"] == "error" and message in payload["error"]["message"]
        assert payload["request_id"] == response.headers["request-id"]


async def test_with_api_keys_set_any_other_key_is_refused_without_echoing_it() -> None:
    script = load_script({"api_keys": ["sk-the-real-upstream-key"]})
    async with serve_providers(script) as providers, _openai(providers, max_retries=0) as client:
        with pytest.raises(openai.AuthenticationError) as refused:
            await client.models.list()
        async with openai.AsyncOpenAI(
            base_url=providers.openai_base_url, api_key="sk-the-real-upstream-key"
        ) as allowed:
            models = await allowed.models.list()
    assert refused.value.code == "invalid_api_key" and KEY not in str(refused.value)
    assert [model.id for model in models.data] == ["gpt-4o-mini", "gpt-4.1", "gpt-5-mini"]


# The stand-in never crashes on what a client sends, and its writes rebuild its frames ---------

message_values = st.one_of(
    json_values,
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "role": st.sampled_from(["user", "assistant", "tool", "system", 7]),
                "type": st.sampled_from(["function_call", "function_call_output", "reasoning"]),
                "content": json_values,
                "output": json_values,
            },
        ),
        max_size=4,
    ),
)
request_bodies = st.fixed_dictionaries(
    {},
    optional={
        "model": st.one_of(st.just("gpt-4o-mini"), json_values),
        "messages": message_values,
        "input": message_values,
        "max_tokens": st.one_of(st.just(64), json_values),
        "stream": st.one_of(st.booleans(), json_values),
        "stream_options": json_values,
        "previous_response_id": json_values,
        "tools": json_values,
    },
)
ROUTES = [
    ("openai", "/v1/chat/completions", OPENAI_HEADERS),
    ("openai", "/v1/responses", OPENAI_HEADERS),
    ("anthropic", "/v1/messages", ANTHROPIC_HEADERS),
    ("anthropic", "/v1/messages/count_tokens", ANTHROPIC_HEADERS),
]


@PROPS
@given(route=st.sampled_from(ROUTES), body=request_bodies)
def test_any_json_body_gets_a_reply_never_an_exception(
    route: tuple[Api, str, dict[str, str]], body: dict[str, Any]
) -> None:
    api, path, headers = route
    reply = StandIn(WEATHER).handle(api, "POST", path, headers, json.dumps(body).encode())
    assert reply.status in (200, 400)
    if reply.status == 400:
        assert reply.body is not None and b"error" in reply.body


@PROPS
@given(texts=st.lists(tricky_text, min_size=1, max_size=6))
def test_writes_join_back_into_the_frames_and_cut_inside_characters(texts: list[str]) -> None:
    frames = [f"data: {text}\n\n".encode() for text in texts]
    writes = split_writes(frames)
    assert b"".join(writes) == b"".join(frames)
    assert all(writes)
    if any(len(text.encode()) > len(text) for text in texts):
        undecodable = 0
        for write in writes:
            try:
                write.decode("utf-8")
            except UnicodeDecodeError:
                undecodable += 1
        assert undecodable > 0


# python -m tests.support.providers ------------------------------------------------------------


def test_the_module_prints_its_urls_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"default": {"text": "from the command line"}}))
    command = [sys.executable, "-m", "tests.support.providers", "--script", str(script)]
    with subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        urls = dict(line.strip().split("=", 1) for line in iter(process.stdout.readline, "\n"))
        with openai.OpenAI(base_url=urls["OPENAI_BASE_URL"], api_key=KEY) as client:
            reply = client.responses.create(model="gpt-4o-mini", input="hi")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    assert set(urls) == {"OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"}
    assert reply.output_text == "from the command line"


def test_the_module_refuses_a_bad_script_in_one_line(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"rules": [{"match": "x", "turns": [{}]}]}))
    command = [sys.executable, "-m", "tests.support.providers", "--script", str(script)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "a turn needs text, tool_calls or error" in done.stderr
    assert "$.rules[0].turns[0]" in done.stderr
