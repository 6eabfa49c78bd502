"""Assay trace files, read one way: untyped legacy lines, typed V1 records (`assay.trace`) and
V2 events (episode_start / step / tool_call / episode_end) all become `TraceRecord`s with one
ordered call list (file order), bound to a test by `meta.test_id` or by the exact prompt.

Where Assay loses data silently, harness keeps it and says so: a V2 call whose `error` is not a
string is kept (Assay drops it), a tool line without a prompt is reported (Assay files it under
the prompt "ignore"), and a line Assay skips is named in a warning.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import msgspec

from harness.config.files import read_regular
from harness.config.yaml_source import display_path
from harness.errors import ConfigError
from harness.grading.context import ToolCall

V2_EVENTS = ("episode_start", "step", "tool_call", "episode_end")
UNBOUND_PROMPT = "ignore"  # where Assay files a tool line that has no prompt


class TraceError(ConfigError):
    """The trace file cannot be used (Assay: E_TRACE_NOT_FOUND, exit 2)."""


@dataclasses.dataclass
class TraceRecord:
    prompt: str
    response: Any
    line: int
    kind: str  # legacy | v1 | v2
    model: str | None = None
    request_id: str | None = None
    calls: list[ToolCall] = dataclasses.field(default_factory=list)
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)
    steps: int = 1
    episode_id: str | None = None

    @property
    def test_id(self) -> str | None:
        value = self.meta.get("test_id")
        return value if isinstance(value, str) else None


@dataclasses.dataclass
class TraceFile:
    path: Path
    sha256: str
    records: list[TraceRecord]
    warnings: list[str]

    def find(self, test_id: str, prompt: str) -> TraceRecord | None:
        """The record bound to the test by `meta.test_id`, else the one with its prompt.

        As Assay's lookup, which knows only the prompt: every test with that prompt gets the
        record, also one whose `meta.test_id` names another test. Records that share a prompt
        (harness tells them apart by `meta.test_id`) answer only the tests they name."""
        bound = [r for r in self.records if r.test_id == test_id]
        if bound:
            return bound[-1]
        same_prompt = [r for r in self.records if r.prompt == prompt]
        return same_prompt[0] if len(same_prompt) == 1 else None


def read_trace(path: Path) -> TraceFile:
    shown = display_path(path)
    try:
        raw = read_regular(path)
    except OSError as exc:
        raise TraceError(shown, f"trace file cannot be read: {exc.strerror or exc}") from None
    reader = _Reader(shown)
    for number, line in enumerate(raw.split(b"\n"), start=1):
        text = line.rstrip(b"\r")
        if text.strip():
            reader.line(number, text)
    records = reader.finish()
    _check_unique(shown, records)
    return TraceFile(path, hashlib.sha256(raw).hexdigest(), records, reader.warnings)


class _Reader:
    def __init__(self, shown: str) -> None:
        self.shown = shown
        self.records: list[TraceRecord] = []
        self.episodes: dict[str, TraceRecord] = {}
        self.warnings: list[str] = []
        self.ignored = 0

    def error(self, number: int, message: str) -> TraceError:
        return TraceError(self.shown, message, line=number)

    def line(self, number: int, text: bytes) -> None:
        try:
            value = msgspec.json.decode(text)
        except msgspec.DecodeError as exc:
            raise self.error(number, f"not JSON ({exc}); one JSON object a line") from None
        except UnicodeDecodeError as exc:
            raise self.error(
                number, f"not valid UTF-8 ({exc.reason} at byte {exc.start})"
            ) from None
        except RecursionError:
            raise self.error(
                number, "JSON nested too deeply; one flat JSON object a line"
            ) from None
        if not isinstance(value, dict):
            raise self.error(number, "not a JSON object; one JSON object a line")
        kind = value.get("type")
        if kind in V2_EVENTS:
            self.event(number, kind, value)
        elif kind == "assay.trace" and value.get("schema_version") == 1:
            self.typed(number, value)
        elif kind is None:
            self.legacy(number, value)
        else:
            self.ignored += 1

    def typed(self, number: int, value: dict[str, Any]) -> None:
        meta = _mapping(value, "meta")
        record = TraceRecord(
            prompt=_text(value.get("prompt"), number, "prompt", self),
            response=value.get("response", value.get("text")),
            line=number,
            kind="v1",
            model=value.get("model"),
            request_id=value.get("request_id"),
            calls=_calls(meta.get("tool_calls")),
            meta=dict(meta),
        )
        self.records.append(record)

    def legacy(self, number: int, value: dict[str, Any]) -> None:
        calls = _calls(value.get("tool_calls"))
        if "tool" in value:
            calls.insert(0, _call(0, {"tool_name": value["tool"], **value}))
            calls = [dataclasses.replace(call, index=i) for i, call in enumerate(calls)]
        prompt = value.get("prompt")
        if prompt is None and calls:
            self.warnings.append(
                f"{self.shown}:{number}: a tool call without a prompt belongs to no test (Assay"
                f" files it under the prompt {UNBOUND_PROMPT!r})"
            )
            prompt = UNBOUND_PROMPT
        response = value.get("response", value.get("text", value.get("result")))
        if response is None:
            self.warnings.append(f"{self.shown}:{number}: no response, text or result; skipped")
            return
        self.records.append(
            TraceRecord(
                prompt=_text(prompt, number, "prompt", self),
                response=response,
                line=number,
                kind="legacy",
                model=value.get("model"),
                request_id=value.get("request_id"),
                calls=calls,
            )
        )

    def event(self, number: int, kind: str, value: dict[str, Any]) -> None:
        episode_id = value.get("episode_id")
        if not isinstance(episode_id, str):
            raise self.error(number, f"{kind} without a string episode_id")
        if kind == "episode_start":
            payload = _mapping(value, "input")
            meta = _mapping(value, "meta")
            self.episodes[episode_id] = TraceRecord(
                prompt=_text(payload.get("prompt"), number, "input.prompt", self),
                response=None,
                line=number,
                kind="v2",
                calls=[],
                meta=dict(meta),
                steps=0,
                episode_id=episode_id,
            )
            self.records.append(self.episodes[episode_id])
            return
        record = self.episodes.get(episode_id)
        if record is None:
            raise self.error(number, f"{kind} for episode {episode_id!r} before its episode_start")
        if kind == "step":
            record.steps += 1
            _step(record, value)
        elif kind == "tool_call":
            record.calls.append(self.v2_call(number, record, value))
        elif value.get("final_output") is not None:
            record.response = value["final_output"]

    def v2_call(self, number: int, record: TraceRecord, value: dict[str, Any]) -> ToolCall:
        error = value.get("error")
        if error is not None and not isinstance(error, str):
            self.warnings.append(
                f"{self.shown}:{number}: tool_call error is not a string; kept as JSON text"
                " (Assay drops this call)"
            )
            error = msgspec.json.encode(error).decode()
        return ToolCall(
            name=str(value.get("tool_name")),
            args=value.get("args"),
            index=len(record.calls),
            call_id=f"{value.get('step_id')}-{value.get('call_index', 0)}",
            ok=error is None,
            result=value.get("result"),
            error=error,
        )

    def finish(self) -> list[TraceRecord]:
        if self.ignored:
            self.warnings.append(f"{self.shown}: {self.ignored} line(s) of other types ignored")
        return [
            record for record in self.records if record.response is not None or record.kind == "v2"
        ]


def _step(record: TraceRecord, value: dict[str, Any]) -> None:
    """Each step's content replaces the answer, as in Assay; final_output wins over all."""
    content = value.get("content")
    parsed = content
    if isinstance(content, str):
        try:
            parsed = msgspec.json.decode(content)
        except msgspec.DecodeError:
            parsed = content
    if isinstance(parsed, dict) and "completion" in parsed:
        record.response = parsed["completion"]
        record.model = parsed.get("model", record.model)
    elif content is not None:
        record.response = content
    meta = _mapping(value, "meta")
    if "gen_ai.completion" in meta:
        record.response = meta["gen_ai.completion"]
    if "gen_ai.request.model" in meta:
        record.model = meta["gen_ai.request.model"]


def _mapping(value: dict[str, Any], key: str) -> dict[str, Any]:
    item = value.get(key)
    return item if isinstance(item, dict) else {}


def _calls(value: Any) -> list[ToolCall]:
    if not isinstance(value, list):
        return []
    return [_call(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _call(index: int, item: dict[str, Any]) -> ToolCall:
    name = item.get("tool_name", item.get("tool", item.get("name")))
    error = item.get("error")
    return ToolCall(
        name=str(name),
        args=item.get("args", item.get("arguments")),
        index=index,
        call_id=item.get("id"),
        ok=None if "result" not in item and error is None else error is None,
        result=item.get("result"),
        error=error,
    )


def _text(value: Any, number: int, field: str, reader: _Reader) -> str:
    if not isinstance(value, str):
        raise reader.error(number, f"{field} must be a string, got {type(value).__name__}")
    return value


def _check_unique(shown: str, records: list[TraceRecord]) -> None:
    """Two records for one prompt (not told apart by meta.test_id), or one request_id twice,
    make the file ambiguous: Assay refuses it, and so does harness."""
    prompts: dict[str, int] = {}
    ids: dict[str, int] = {}
    for record in records:
        if record.test_id is None and record.prompt != UNBOUND_PROMPT:
            first = prompts.setdefault(record.prompt, record.line)
            if first != record.line:
                message = (
                    f"a second record for the prompt {record.prompt[:60]!r} (first on line"
                    f" {first}); records are keyed by prompt: bind each with meta.test_id"
                )
                raise TraceError(shown, message, line=record.line)
        if record.request_id is not None:
            first = ids.setdefault(str(record.request_id), record.line)
            if first != record.line:
                message = f"request_id {record.request_id!r} repeats line {first}"
                raise TraceError(shown, message, line=record.line)
