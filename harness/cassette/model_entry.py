"""Model entries: one line of a cassette per model call the agent made through the proxy.

A model line has `"kind": "model"`, the API, method and path, the request after normalisation
and redaction, the status, the allow-listed response headers, and either the JSON `body` or the
SSE `events` (`[{t_ms, event, data}]`, `data` exactly as sent, `[DONE]` included). It also
carries `tool`, `args` and `ok`, so RunLedger's loader (and any reader of tool lines) reads it
as a call of a tool named `harness:model`, which no agent can call: a tool outside
`tool_registry` is refused before its cassette is read.
"""

from __future__ import annotations

from typing import Any

import msgspec

MODEL_KIND = "model"
# The tool name a RunLedger-only reader sees on a model line; `:` keeps it apart from any
# tool a suite registers by convention.
MODEL_TOOL = "harness:model"


class SseEvent(msgspec.Struct, frozen=True):
    """One server-sent event: when it came (ms after the response started), its `event:`
    field (None when the stream has none) and its `data:` lines joined by `\\n`."""

    t_ms: float
    data: str
    event: str | None = None


class ModelEntry(msgspec.Struct, frozen=True):
    """One recorded model call and its answer."""

    api: str  # openai | anthropic
    method: str
    path: str  # the provider's path: /v1/chat/completions, /v1/messages, ...
    request: Any  # the JSON body, normalised and redacted; None for a GET
    status: int
    headers: dict[str, str] = {}
    body: Any = None  # the JSON answer (a string when it was not JSON)
    events: list[SseEvent] | None = None  # a streamed answer instead of `body`
    # Set only in a cassette file shared by several cases, as for tool entries.
    case: str | None = None

    @property
    def streamed(self) -> bool:
        return self.events is not None


def model_line_fields(entry: ModelEntry) -> dict[str, Any]:
    """The fields written for `entry`, RunLedger's three included (see the module doc)."""
    fields: dict[str, Any] = {
        "kind": MODEL_KIND,
        "api": entry.api,
        "method": entry.method,
        "path": entry.path,
        "request": entry.request,
        "status": entry.status,
        "headers": entry.headers,
        "tool": MODEL_TOOL,
        "args": {},
        "ok": entry.status < 400,
    }
    if entry.events is not None:
        fields["events"] = [
            {"t_ms": event.t_ms, "event": event.event, "data": event.data} for event in entry.events
        ]
    else:
        fields["body"] = entry.body
    if entry.case is not None:
        fields["case"] = entry.case
    return fields


def is_model_line(raw: dict[str, Any]) -> bool:
    return raw.get("kind") == MODEL_KIND


def to_model_entry(raw: dict[str, Any]) -> ModelEntry:
    """A model entry from a decoded line.

    Raises:
        ValueError: what is wrong with the line, in a few words.
    """
    for field, expected, kind in (
        ("api", str, "a string"),
        ("method", str, "a string"),
        ("path", str, "a string"),
        ("headers", dict, "an object"),
    ):
        if not isinstance(raw.get(field), expected):
            raise ValueError(f"model entry: `{field}` must be {kind}")
    status = raw.get("status")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise ValueError("model entry: `status` must be an HTTP status (100-599)")
    events = raw.get("events")
    case = raw.get("case")
    return ModelEntry(
        api=raw["api"],
        method=raw["method"],
        path=raw["path"],
        request=raw.get("request"),
        status=status,
        headers={str(k): str(v) for k, v in raw["headers"].items()},
        body=raw.get("body"),
        events=None if events is None else _events(events),
        case=case if isinstance(case, str) else None,
    )


def _events(raw: Any) -> list[SseEvent]:
    if not isinstance(raw, list):
        raise ValueError("model entry: `events` must be a list")
    events = []
    for i, item in enumerate(raw):
        try:
            events.append(msgspec.convert(item, SseEvent))
        except msgspec.ValidationError as exc:
            raise ValueError(f"model entry: events[{i}]: {exc}") from None
    return events
