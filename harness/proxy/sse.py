"""Server-sent events: read them from an upstream byte stream, write them back exactly.

Reading follows the SSE rules providers rely on: lines end with `\\n`, `\\r\\n` or `\\r`; an
empty line ends an event; `data:` lines are joined with `\\n`; one space after the colon is
dropped; lines starting with `:` are comments. Writing gives `event: X` (when there is one)
and one `data:` line per line of data, then an empty line: what OpenAI and Anthropic send.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import TYPE_CHECKING

import anyio

from harness.cassette.model_entry import SseEvent

if TYPE_CHECKING:
    import random


class SseParser:
    """Feed bytes as they arrive (split anywhere, even inside a UTF-8 character); get each
    complete event once its empty line has come."""

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[str] = []
        self._event: str | None = None
        self._has_field = False

    def feed(self, chunk: bytes, t_ms: float) -> list[SseEvent]:
        self._buffer += chunk
        events = []
        for line in self._complete_lines():
            event = self._line(line, t_ms)
            if event is not None:
                events.append(event)
        return events

    def close(self, t_ms: float) -> list[SseEvent]:
        """The last event, when the stream ended without its empty line."""
        tail, self._buffer = self._buffer, b""
        events = []
        if tail:
            event = self._line(tail.decode("utf-8", "replace"), t_ms)
            events += [event] if event is not None else []
        if self._has_field:
            events.append(self._emit(t_ms))
        return events

    def _complete_lines(self) -> Iterator[str]:
        buffer = self._buffer
        start = 0
        while True:
            cut = _next_break(buffer, start)
            if cut is None:
                break
            end, after = cut
            yield buffer[start:end].decode("utf-8", "replace")
            start = after
        self._buffer = buffer[start:]

    def _line(self, line: str, t_ms: float) -> SseEvent | None:
        if not line:
            return self._emit(t_ms) if self._has_field else None
        if line.startswith(":"):
            return None  # a comment (keep-alive)
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
            self._has_field = True
        elif name == "event":
            self._event = value
            self._has_field = True
        return None  # id: and retry: are not used by the providers' SDKs

    def _emit(self, t_ms: float) -> SseEvent:
        event = SseEvent(t_ms=t_ms, data="\n".join(self._data), event=self._event)
        self._data, self._event, self._has_field = [], None, False
        return event


def _next_break(buffer: bytes, start: int) -> tuple[int, int] | None:
    """(end of line, start of the next) for the first line break at or after `start`. A `\\r`
    at the very end may be the first half of `\\r\\n`: wait for the next byte."""
    newline = buffer.find(b"\n", start)
    carriage = buffer.find(b"\r", start, newline if newline >= 0 else len(buffer))
    if carriage >= 0:
        if carriage + 1 == len(buffer):
            return None
        return carriage, carriage + (2 if buffer[carriage + 1 : carriage + 2] == b"\n" else 1)
    if newline >= 0:
        return newline, newline + 1
    return None


def encode_event(event: SseEvent) -> bytes:
    head = f"event: {event.event}\n" if event.event is not None else ""
    lines = "".join(f"data: {line}\n" for line in event.data.split("\n"))
    return f"{head}{lines}\n".encode()


async def replay_chunks(
    events: Sequence[SseEvent], *, scale: float | None, chaos: random.Random | None
) -> AsyncIterator[bytes]:
    """The bytes of a recorded stream, one piece per write: one event each, or (chaos) each
    event cut at random byte offsets, inside UTF-8 characters too. `scale`: None sends at once
    (fast); else each event waits until its recorded time times `scale`."""
    started = anyio.current_time()
    for event in events:
        if scale is not None:
            delay = started + event.t_ms * scale / 1000 - anyio.current_time()
            if delay > 0:
                await anyio.sleep(delay)
        data = encode_event(event)
        if chaos is None:
            yield data
            continue
        for piece in chaos_split(data, chaos):
            yield piece


def chaos_split(data: bytes, rng: random.Random) -> list[bytes]:
    """`data` cut at 0 to 3 random offsets (never into empty pieces)."""
    if len(data) < 2:
        return [data]
    count = rng.randint(0, min(3, len(data) - 1))
    cuts = sorted(rng.sample(range(1, len(data)), count))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]
