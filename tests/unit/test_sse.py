"""harness.proxy.sse: events read from bytes split anywhere equal the events written; chaos
splits lose and reorder nothing."""

from __future__ import annotations

import itertools
import random

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.cassette.model_entry import SseEvent
from harness.proxy.sse import SseParser, chaos_split, encode_event, replay_chunks
from tests.support.strategies import PROPS

# Data may hold newlines (several data: lines) but no CR, which SSE reads as a line break too.
datas = st.text(st.characters(codec="utf-8", exclude_characters="\r"), max_size=30)
events = st.lists(
    st.builds(
        SseEvent,
        t_ms=st.just(0.0),
        data=datas,
        event=st.none()
        | st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), min_size=1, max_size=8),
    ),
    max_size=6,
)


def parse(data: bytes, cuts: list[int]) -> list[SseEvent]:
    parser = SseParser()
    found: list[SseEvent] = []
    bounds = [0, *sorted(set(cuts)), len(data)]
    for start, end in itertools.pairwise(bounds):
        found += parser.feed(data[start:end], 0.0)
    return found + parser.close(0.0)


@PROPS
@given(events, st.lists(st.integers(min_value=0, max_value=400), max_size=8))
def test_what_is_written_reads_back_the_same_however_it_is_split(
    written: list[SseEvent], cuts: list[int]
) -> None:
    data = b"".join(encode_event(event) for event in written)
    assert parse(data, [c for c in cuts if c <= len(data)]) == written


def test_provider_framings() -> None:
    openai = b'data: {"a":1}\r\n\r\n: keep-alive\n\ndata: [DONE]\n\n'
    assert [e.data for e in parse(openai, [])] == ['{"a":1}', "[DONE]"]
    anthropic = b"event: ping\ndata: {}\n\nevent: message_stop\ndata:{}"  # no final blank line
    assert [(e.event, e.data) for e in parse(anthropic, [5])] == [
        ("ping", "{}"),
        ("message_stop", "{}"),
    ]


@PROPS
@given(st.binary(min_size=0, max_size=200), st.integers())
def test_chaos_split_keeps_every_byte_in_order(data: bytes, seed: int) -> None:
    pieces = chaos_split(data, random.Random(seed))
    assert b"".join(pieces) == data
    assert all(pieces) or data == b""


def test_replay_is_one_write_per_event_and_chaos_is_seeded() -> None:
    recorded = [SseEvent(t_ms=0, data="é" * 10), SseEvent(t_ms=1, data="[DONE]")]

    async def collect(chaos: random.Random | None) -> list[bytes]:
        return [piece async for piece in replay_chunks(recorded, scale=None, chaos=chaos)]

    plain = anyio.run(collect, None)
    assert plain == [encode_event(event) for event in recorded]
    first = anyio.run(collect, random.Random("s"))
    assert first == anyio.run(collect, random.Random("s"))
    assert b"".join(first) == b"".join(plain)


def test_recorded_timing_waits_for_each_event_and_fast_never_waits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorded = [SseEvent(t_ms=t, data=str(t)) for t in (0, 60, 120)]

    async def arrivals(scale: float | None) -> list[float]:
        start = anyio.current_time()
        return [
            anyio.current_time() - start
            async for _ in replay_chunks(recorded, scale=scale, chaos=None)
        ]

    # Lower bounds only: an event never comes before its (scaled) recorded time.
    at_recorded = anyio.run(arrivals, 1.0)
    assert all(at >= t / 1000 for at, t in zip(at_recorded, (0, 60, 120), strict=True))
    assert anyio.run(arrivals, 0.5)[-1] >= 0.060
    sleeps: list[float] = []

    async def sleep(delay: float) -> None:
        sleeps.append(delay)

    monkeypatch.setattr(anyio, "sleep", sleep)  # anyio's, not ours: fast must not call it
    assert len(anyio.run(arrivals, None)) == 3 and sleeps == []
