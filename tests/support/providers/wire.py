"""What every reply of the stand-in is made of: a status, headers, and either a JSON body or a
list of server-sent events (each exactly the bytes of one event), plus the deterministic ids and
token counts both providers' builders use.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

# Every `created` / `created_at` the stand-in sends: a fixed time keeps recordings stable.
CREATED = 1_767_225_600
# Splits text into the deltas of a stream: one word and the spaces after it.
_WORD = re.compile(r"\S+\s*|\s+")


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | None = None
    events: list[bytes] | None = None

    @property
    def streamed(self) -> bool:
        return self.events is not None


def json_bytes(value: Any, *, pretty: bool = False) -> bytes:
    """JSON as the providers send it: raw UTF-8, compact, or indented by 2 (OpenAI's non-streamed
    bodies are indented; its stream chunks and all of Anthropic's JSON are compact)."""
    if pretty:
        return json.dumps(value, ensure_ascii=False, indent=2).encode("utf-8")
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_reply(status: int, value: Any, headers: list[tuple[str, str]], pretty: bool) -> Reply:
    return Reply(
        status,
        [("content-type", "application/json"), *headers],
        body=json_bytes(value, pretty=pretty),
    )


def sse_frame(data: str | bytes, event: str | None = None) -> bytes:
    """One server-sent event: an optional `event:` line, one `data:` line, a blank line."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    head = f"event: {event}\n".encode() if event is not None else b""
    return head + b"data: " + payload + b"\n\n"


def sse_reply(frames: list[bytes], headers: list[tuple[str, str]]) -> Reply:
    return Reply(
        200,
        [("content-type", "text/event-stream; charset=utf-8"), *headers],
        events=frames,
    )


def words(text: str) -> list[str]:
    """The deltas a stream sends for `text` (joined, they give it back exactly)."""
    return _WORD.findall(text)


def pieces(text: str, size: int = 7) -> list[str]:
    """Fixed-size pieces of `text`: how tool-call arguments arrive in a stream."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def estimate_tokens(value: Any) -> int:
    """A deterministic stand-in for a tokenizer: about one token per four bytes of JSON."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return len(text.encode("utf-8")) // 4 + 1


class Ids:
    """Ids derived from the request bytes (and how many times the stand-in has seen them), so a
    recording made twice holds the same ids."""

    def __init__(self, api: str, path: str, body: bytes, seen: int) -> None:
        material = f"{api} {path} {seen} ".encode() + body
        self.digest = hashlib.sha256(material).hexdigest()

    def make(self, prefix: str, n: int = 0, length: int = 24) -> str:
        if n == 0:
            return prefix + self.digest[:length]
        tail = hashlib.sha256(f"{self.digest}/{n}".encode()).hexdigest()
        return prefix + tail[:length]
