"""The lazy index (harness.cassette.lazy) answers exactly as ReplayCassette over the fully decoded
cassette does: the same entry for the same sequence of calls, the same misses with the same
closest entries and messages, the same strict problems and unused ranges, with redaction,
ignore_args, case tags and model lines in the file."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.cassette.format import (
    CassetteHeader,
    Interaction,
    encode_entry,
    encode_header,
    read_cassette,
)
from harness.cassette.gateway import ReplayGateway
from harness.cassette.ignore import IgnoreArgs
from harness.cassette.keys import Matcher
from harness.cassette.lazy import LazyReplayCassette, index_cassette
from harness.cassette.matching import (
    ReplayCassette,
    canonical_args,
    decode_canonical,
    encode_canonical,
)
from harness.cassette.model_entry import ModelEntry
from harness.cassette.redact import Redactor
from harness.errors import CassetteError, CassetteMissError
from tests.support.strategies import json_args

SECRET = "s3cr3t-Value-99"
VALUES = st.sampled_from([1, 1.0, 2, 2.5, "paris", "Paris", SECRET, [1, 2.0], {"k": SECRET}])
ARGS = st.dictionaries(st.sampled_from(["q", "id", "n"]), VALUES, max_size=3)
CALL = st.tuples(st.sampled_from(["search", "fetch", "other"]), ARGS)
ENTRY = st.tuples(CALL, st.sampled_from([None, "a", "b"]), st.integers(0, 9))


def write(path: Path, entries: list[Any], *, header: bool, model_at: int | None) -> None:
    lines = [encode_header(CassetteHeader())] if header else []
    for position, ((tool, args), case, result) in enumerate(entries):
        if position == model_at:
            model = ModelEntry(api="openai", method="POST", path="/v1/x", request={}, status=200)
            lines.append(encode_entry(model))
            lines.append(b"\n")  # a blank line counts as a line
        lines.append(encode_entry(Interaction(tool, args, ok=True, result=result, case=case)))
    path.write_bytes(b"".join(lines))


def outcome(cassette: ReplayCassette, tool: str, args: dict[str, Any]) -> Any:
    try:
        return cassette.answer(tool, args)
    except CassetteMissError as exc:
        return ("miss", exc.message, exc.details)


@settings(max_examples=200, deadline=None)
@given(
    entries=st.lists(ENTRY, max_size=12),
    calls=st.lists(CALL, max_size=15),
    case_id=st.sampled_from([None, "a", "b"]),
    strict=st.booleans(),
    ignore=st.sampled_from([[], ["$.id"], ["search:$.n"]]),
    redact=st.booleans(),
    header=st.booleans(),
    model_at=st.none() | st.integers(0, 5),
)
def test_the_lazy_index_answers_as_the_decoded_cassette(
    entries: list[Any],
    calls: list[tuple[str, dict[str, Any]]],
    case_id: str | None,
    strict: bool,
    ignore: list[str],
    redact: bool,
    header: bool,
    model_at: int | None,
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.jsonl"
        write(path, entries, header=header, model_at=model_at)
        redactor = Redactor(None, {"SERVICE_TOKEN": SECRET}) if redact else None
        matcher = Matcher(redactor, IgnoreArgs(ignore))
        loaded = read_cassette(path)
        decoded = matcher.cassette(
            loaded.interactions, case_id=case_id, strict=strict, lines=loaded.lines, source="t"
        )
        indexed = index_cassette(path, None, matcher.hashes)
        lazy = LazyReplayCassette(
            indexed,
            indexed.for_case(case_id),
            matcher.keyed_entry,
            matcher.keys,
            strict=strict,
            source="t",
        )
        assert indexed.models == loaded.models and indexed.sha256 == read_cassette(path).sha256
        for tool, args in calls:
            keyed = matcher.key(tool, args)
            assert outcome(lazy, tool, keyed) == outcome(decoded, tool, keyed)
        assert lazy.problems() == decoded.problems()
        assert lazy.unused() == decoded.unused()
        assert lazy.unused_ranges() == decoded.unused_ranges()


def test_many_identical_calls_walk_their_run_once(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    write(path, [(("poll", {"id": 1}), None, n) for n in range(2000)], header=False, model_at=None)
    matcher = Matcher(None, None)
    indexed = index_cassette(path, None, matcher.hashes)
    lazy = LazyReplayCassette(
        indexed, indexed.for_case(None), matcher.keyed_entry, matcher.keys, strict=True, source="t"
    )
    assert [lazy.answer("poll", {"id": 1.0}).result for _ in range(2001)] == [*range(2000), 1999]
    assert [p.kind for p in lazy.problems()] == ["cassette_overused"]


@pytest.mark.parametrize(
    "content",
    [
        b'{"tool": "a", "args": {}, "ok": true, "result": "\xff"}\n',
        b'{"tool": "a", "args": [], "ok": true}\n',
        b'{"tool": "a", "args": {}, "ok": 1}\n',
        b'{"tool": "a", "args": {}, "ok": true}\n{"type": "cassette_header"}\n',
        b'{"tool": "a", "args": {}, "ok": true}\n{"kind": "model", "api": 1}\n',
        b'{"tool": "a", "args": {}, "ok": true,\n',
        b"[1]\n",
    ],
)
def test_a_bad_line_gives_read_cassettes_message(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(content)
    with pytest.raises(CassetteError) as decoded:
        read_cassette(path)
    with pytest.raises(CassetteError) as lazy:
        index_cassette(path, None, Matcher(None, None).hashes)
    assert lazy.value.message == decoded.value.message


async def test_replay_gateway_answers_from_the_index(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    write(path, [(("search", {"q": "x"}), None, 7)], header=True, model_at=0)
    gateway = ReplayGateway(path, strict=True)
    assert (await gateway.answer("search", {"q": "x"})).result == 7
    assert [m.where for m in gateway.model_entries()] == [f"{path}:2"]
    assert gateway.finish() == []


def test_a_line_with_surrounding_whitespace_answers(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(
        b'\xef\xbb\xbf \x0c{"tool": "a", "args": {"n": 1.0}, "ok": true, "result": 5}\x0b\r\n'
    )
    matcher = Matcher(None, None)
    indexed = index_cassette(path, None, matcher.hashes)
    lazy = LazyReplayCassette(
        indexed, indexed.for_case(None), matcher.keyed_entry, matcher.keys, strict=False, source="t"
    )
    assert lazy.answer("a", {"n": 1}).result == 5
    assert read_cassette(path).interactions == [indexed.interaction(0)]


@settings(max_examples=300, deadline=None)
@given(args=json_args)
def test_canonical_bytes_straight_from_json_are_canonical_args(args: dict[str, Any]) -> None:
    as_json = msgspec.json.encode(args)
    assert encode_canonical(decode_canonical(as_json)) == canonical_args(
        msgspec.json.decode(as_json)
    )
