"""harness.cassette.model_entry in the cassette file: model lines round-trip beside tool lines,
read as inert tool lines by a RunLedger-only reader, and are redacted before they are written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cassette.format import Interaction, encode_entry, read_cassette
from harness.cassette.model_entry import MODEL_TOOL, ModelEntry, SseEvent
from harness.cassette.recorder import redact_model_entry
from harness.cassette.redact import Redactor
from harness.errors import CassetteError

STREAMED = ModelEntry(
    api="anthropic",
    method="POST",
    path="/v1/messages",
    request={"model": "claude", "stream": True},
    status=200,
    headers={"content-type": "text/event-stream"},
    events=[SseEvent(t_ms=1.5, data='{"type":"ping"}', event="ping"), SseEvent(3, "[DONE]")],
)


def test_model_and_tool_lines_round_trip_in_order(tmp_path: Path) -> None:
    tool = Interaction(tool="search", args={"q": "x"}, ok=True, result=[1])
    plain = ModelEntry("openai", "GET", "/v1/models", None, 200, body={"data": []})
    path = tmp_path / "c.jsonl"
    path.write_bytes(b"".join(encode_entry(e) for e in (tool, STREAMED, plain)))
    loaded = read_cassette(path)
    assert loaded.entries == [tool, STREAMED, plain]
    assert loaded.interactions == [tool]
    assert loaded.model_lines == [2, 3]


def test_a_runledger_reader_sees_an_inert_tool_line() -> None:
    line = json.loads(encode_entry(STREAMED))
    # RunLedger's loader needs tool (str), args (object), ok (bool) and ignores the rest.
    assert line["tool"] == MODEL_TOOL and line["args"] == {} and line["ok"] is True
    assert line["kind"] == "model"
    assert line["events"][0] == {"t_ms": 1.5, "event": "ping", "data": '{"type":"ping"}'}


def test_bad_model_lines_name_their_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"kind": "model", "api": "openai", "method": "POST", "path": "/v1/x"}\n')
    with pytest.raises(
        CassetteError, match=r"c\.jsonl:1: model entry: `headers` must be an object"
    ):
        read_cassette(path)


def test_redaction_reaches_requests_headers_bodies_and_event_data() -> None:
    secret = "sk-" + "A" * 30
    redactor = Redactor(environ={})
    entry = ModelEntry(
        "openai",
        "POST",
        "/v1/chat/completions",
        {"messages": [{"content": f"use {secret}"}], "api_key": "short"},
        200,
        headers={"x-request-id": secret},
        events=[
            SseEvent(0, json.dumps({"text": secret})),
            SseEvent(0, '{"token": "tok-123456"}'),
            SseEvent(0, "[DONE]"),
        ],
    )
    stored = redact_model_entry(redactor, entry)
    text = json.dumps(json.loads(encode_entry(stored)))
    assert secret not in text and "short" not in text and "tok-123456" not in text
    assert stored.events is not None and stored.events[2].data == "[DONE]"
    clean = SseEvent(0, '{"a": 1}')
    assert redact_model_entry(
        redactor, ModelEntry("openai", "POST", "/p", {}, 200, events=[clean])
    ).events == [clean]
