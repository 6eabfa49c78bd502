"""JSONL framing: one message per line, one Encoder and one Decoder built once."""

from __future__ import annotations

from typing import Any

import msgspec

from harness.errors import AgentProtocolError
from harness.excerpts import ELLIPSIS, WINDOW_CHARS, cut_bytes
from harness.protocol.messages import AGENT_MESSAGE_TYPES, AgentMessage, RunnerMessage

DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024
EXCERPT_CHARS = 200

_encoder = msgspec.json.Encoder()
_decoder: msgspec.json.Decoder[AgentMessage] = msgspec.json.Decoder(AgentMessage)


def encode_message(message: RunnerMessage) -> bytes:
    """One line, newline-terminated. Raw U+2028 is valid JSON and agents split on b"\\n" only."""
    return _encoder.encode(message) + b"\n"


def excerpt(line: bytes | bytearray, limit: int = EXCERPT_CHARS) -> str:
    """The start of an agent's line for a message: redacted, then cut (harness.excerpts)."""
    return cut_bytes(bytes(line[: (limit + WINDOW_CHARS) * 4]), limit + len(ELLIPSIS))


def decode_agent_line(line: bytes, line_number: int) -> AgentMessage:
    """Decode one stdout line of the agent, or raise AgentProtocolError naming the line."""
    try:
        return _decoder.decode(line)
    except msgspec.ValidationError as exc:
        reason = _explain(line, str(exc))
    except msgspec.DecodeError as exc:
        reason = f"not valid JSON ({exc}); print logs to stderr, not stdout"
    except UnicodeDecodeError as exc:
        # msgspec raises this one, not DecodeError, for bytes that are not UTF-8.
        reason = f"not valid UTF-8 (byte {exc.start}); messages are UTF-8 JSON"
    except RecursionError:
        reason = "JSON nested too deeply; keep messages under a few hundred levels"
    raise AgentProtocolError(
        f"agent stdout line {line_number}: {reason}: {excerpt(line)}",
        line=line_number,
        excerpt=excerpt(line),
    )


def _explain(line: bytes, detail: str) -> str:
    try:
        raw = msgspec.json.decode(line)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return detail
    if not isinstance(raw, dict):
        return f"expected a JSON object, got {type(raw).__name__}"
    if "type" not in raw:
        return "message has no `type` field"
    if raw["type"] not in AGENT_MESSAGE_TYPES:
        known = ", ".join(AGENT_MESSAGE_TYPES)
        return f"unknown message type {raw['type']!r} (known: {known})"
    return f"invalid {raw['type']} message: {detail}"


def json_type_name(value: Any) -> str:
    """How an error message names a JSON value's type: `null`, `a boolean`, `an object`, ..."""
    match value:
        case None:
            return "null"
        case bool():
            return "a boolean"
        case int() | float():
            return "a number"
        case str():
            return "a string"
        case list():
            return "an array"
        case _:
            return "an object"
