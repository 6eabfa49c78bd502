"""Cassette files and replay matching: loading, encoding, consuming replay, misses, strict mode."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from harness.cassette.format import (
    CassetteHeader,
    Interaction,
    encode_header,
    encode_interaction,
    load_cassette,
    read_cassette,
)
from harness.cassette.matching import ReplayCassette, canonical_args, diff_values
from harness.errors import CassetteError, CassetteMissError


def write(tmp_path: Path, data: bytes | str, name: str = "c.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def line(**fields: Any) -> str:
    return json.dumps(fields) + "\n"


# Loading -----------------------------------------------------------------------------------


def test_loads_runledger_cassette(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        line(tool="search", args={"q": "a"}, ok=True, result={"hits": 1})
        + "\n   \n"
        + line(tool="fetch", args={}, ok=False, error="boom"),
    )
    assert load_cassette(path) == [
        Interaction(tool="search", args={"q": "a"}, ok=True, result={"hits": 1}),
        Interaction(tool="fetch", args={}, ok=False, error="boom"),
    ]


def test_read_cassette_reports_header_and_lines(tmp_path: Path) -> None:
    header = CassetteHeader(recorded_at="2025-01-01T00:00:00Z", backend="python")
    entry = Interaction(tool="t", args={}, ok=True)
    path = write(tmp_path, encode_header(header) + b"\n" + encode_interaction(entry))
    loaded = read_cassette(path)
    assert loaded.header == header
    assert loaded.interactions == [entry]
    assert loaded.lines == [3]
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert load_cassette(path) == [entry]


def test_non_string_error_is_dropped(tmp_path: Path) -> None:
    path = write(tmp_path, line(tool="t", args={}, ok=False, error={"code": 1}))
    assert load_cassette(path)[0].error is None


def test_crlf_bom_and_extra_keys_are_accepted(tmp_path: Path) -> None:
    text = '{"tool":"t","args":{},"ok":true,"extra":1}\r\n'
    path = write(tmp_path, b"\xef\xbb\xbf" + text.encode())
    assert load_cassette(path) == [Interaction(tool="t", args={}, ok=True)]


def test_raw_line_separators_inside_strings_load(tmp_path: Path) -> None:
    # RunLedger writes these raw and then cannot read its own file; we split on \n only.
    raw = '{"tool":"t","args":{"q":"a\u2028b\u2029c\u0085d"},"ok":true}\n'
    path = write(tmp_path, raw)
    assert load_cassette(path)[0].args == {"q": "a\u2028b\u2029c\u0085d"}


def test_missing_file_says_how_to_record(tmp_path: Path) -> None:
    with pytest.raises(CassetteError, match=r"not found; record it with `harness run SUITE"):
        load_cassette(tmp_path / "nope.jsonl")


def test_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CassetteError, match="is a directory"):
        load_cassette(tmp_path)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'{"tool":"t","args":{},"ok":true}\n{"tool":', r"c\.jsonl:2: not valid JSON"),
        (b"\n\n[1, 2]\n", r"c\.jsonl:3: expected a JSON object, got an array"),
        (b'{"tool":"t","args":{},"ok":true,"x":"\xff"}', r"c\.jsonl:1: not valid UTF-8"),
        (b'{"args":{},"ok":true}', r":1: `tool` must be a string \(missing\)"),
        (b'{"tool":1,"args":{},"ok":true}', r"`tool` must be a string \(got a number\)"),
        (b'{"tool":"t","args":[],"ok":true}', r"`args` must be an object \(got an array\)"),
        (b'{"tool":"t","args":{},"ok":1}', r"`ok` must be true or false \(got a number\)"),
        (b'{"tool":"t","args":{}}', r"`ok` must be true or false \(missing\)"),
        (b"[" * 5000, r"nested too deeply"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path: Path, content: bytes, problem: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(CassetteError, match=problem) as caught:
        load_cassette(path)
    assert caught.value.message.startswith(str(path))
    assert "; " in caught.value.message  # what is wrong; what to do


def test_header_must_come_first(tmp_path: Path) -> None:
    entry = encode_interaction(Interaction(tool="t", args={}, ok=True))
    path = write(tmp_path, entry + encode_header(CassetteHeader()))
    with pytest.raises(CassetteError, match=r":2: cassette_header after the first line"):
        load_cassette(path)


def test_newer_format_version_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '{"type":"cassette_header","format_version":99}\n')
    with pytest.raises(CassetteError, match="upgrade harness"):
        load_cassette(path)


# Encoding ----------------------------------------------------------------------------------


def test_encode_is_one_sorted_line_without_null_error() -> None:
    encoded = encode_interaction(
        Interaction(tool="t", args={"b": 1, "a": {"d": 2, "c": 3}}, ok=True)
    )
    assert encoded == b'{"args":{"a":{"c":3,"d":2},"b":1},"ok":true,"result":null,"tool":"t"}\n'
    failed = encode_interaction(Interaction(tool="t", args={}, ok=False, error="x"))
    assert b'"error":"x"' in failed


def test_encoded_line_survives_str_splitlines() -> None:
    # What RunLedger's loader does; our cassettes must stay readable by it.
    entry = Interaction(
        tool="t", args={"q": "a\u2028b\u2029c\u0085d\x1c"}, ok=True, result="\u2028"
    )
    text = encode_interaction(entry).decode()
    assert len(text.splitlines()) == 1
    assert json.loads(text.splitlines()[0])["args"] == entry.args


def test_lone_surrogates_are_written_as_replacement_chars(tmp_path: Path) -> None:
    entry = Interaction(tool="ls", args={}, ok=True, result={"f\udcff": ["a\ud800"]})
    path = write(tmp_path, encode_interaction(entry))
    assert load_cassette(path)[0].result == {"f\ufffd": ["a\ufffd"]}


# canonical_args ----------------------------------------------------------------------------


def test_canonical_args_rules() -> None:
    assert canonical_args({"a": 1, "b": {"x": 1, "y": 2}}) == canonical_args(
        {"b": {"y": 2, "x": 1}, "a": 1}
    )
    assert canonical_args({"n": 1}) == canonical_args({"n": 1.0})
    assert canonical_args({"n": [1, 2.0]}) == canonical_args({"n": [1.0, 2]})
    assert canonical_args({"n": 1.5}) != canonical_args({"n": 1})
    assert canonical_args({"n": True}) != canonical_args({"n": 1})
    assert canonical_args({"n": 0}) == canonical_args({"n": -0.0})
    assert canonical_args({"l": [1, 2]}) != canonical_args({"l": [2, 1]})
    assert canonical_args({"s": "Paris"}) != canonical_args({"s": "paris"})


# Replay ------------------------------------------------------------------------------------


def entry(tool: str, result: Any = None, **args: Any) -> Interaction:
    return Interaction(tool=tool, args=args, ok=True, result=result)


def nearest_indexes(error: CassetteMissError) -> list[int]:
    nearest = error.details["nearest"]
    assert isinstance(nearest, list)
    return [item["index"] for item in nearest]


def test_match_ignores_key_order_and_number_form() -> None:
    cassette = ReplayCassette([entry("search", "r", q="x", page=1)])
    assert cassette.answer("search", {"page": 1.0, "q": "x"}).result == "r"


def test_identical_calls_consume_in_order_then_repeat_the_last() -> None:
    cassette = ReplayCassette(
        [entry("poll", "pending", id=1), entry("other", id=1), entry("poll", "done", id=1)]
    )
    answers = [cassette.answer("poll", {"id": 1}).result for _ in range(4)]
    assert answers == ["pending", "done", "done", "done"]
    assert cassette.unused() == [1]
    assert cassette.problems() == []  # not strict


def test_strict_reports_unused_out_of_order_and_overused() -> None:
    cassette = ReplayCassette(
        [entry("a", x=1), entry("b"), entry("c")],
        strict=True,
        lines=[2, 3, 5],
        source="cassettes/t.jsonl",
    )
    cassette.answer("b", {})
    cassette.answer("a", {"x": 1})
    cassette.answer("b", {})
    problems = cassette.problems()
    assert [p.kind for p in problems] == [
        "cassette_out_of_order",
        "cassette_overused",
        "cassette_unused",
    ]
    assert [p.index for p in problems] == [0, 1, 2]
    assert 'cassettes/t.jsonl:2: a {"x":1} was called after cassettes/t.jsonl:3' in (
        problems[0].message
    )
    assert "called 2 times but recorded 1" in problems[1].message
    assert problems[2].message == "cassettes/t.jsonl:5: c {} was never called"


def test_strict_clean_run_has_no_problems() -> None:
    cassette = ReplayCassette([entry("a"), entry("b"), entry("a")], strict=True)
    for tool in ("a", "b", "a"):
        cassette.answer(tool, {})
    assert cassette.problems() == []


def test_from_file_names_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "\n" + line(tool="t", args={}, ok=True))
    loaded = read_cassette(path)
    cassette = ReplayCassette(
        loaded.interactions, strict=True, lines=loaded.lines, source=str(loaded.path)
    )
    assert cassette.problems()[0].message.startswith(f"{path}:2: t {{}}")


def test_miss_shows_nearest_with_argument_diff() -> None:
    cassette = ReplayCassette(
        [
            entry("weather", city="Paris", days=3),
            entry("weather", city="Berlin", days=7, units="metric"),
            entry("search", q="weather paris"),
            entry("translate", text="x"),
        ],
        lines=[1, 2, 3, 4],
        source="c.jsonl",
    )
    with pytest.raises(CassetteMissError) as caught:
        cassette.answer("weather", {"city": "paris", "days": 3, "lang": "fr"})
    error = caught.value
    text = error.message
    assert text.startswith('c.jsonl: no recorded interaction for weather {"city":"paris"')
    assert "  1. c.jsonl:1: weather {" in text
    assert 'args.city: expected "Paris", got "paris"' in text
    assert 'args.lang: not recorded, got "fr"' in text
    assert 'args.units: missing, expected "metric"' in text
    assert "--mode record" in text
    assert error.details["requested"] == {
        "tool": "weather",
        "args": {"city": "paris", "days": 3, "lang": "fr"},
    }
    assert nearest_indexes(error) == [0, 1, 2]  # same tool first, most similar first


def test_miss_on_unknown_tool_shows_tool_diff() -> None:
    cassette = ReplayCassette([entry("search", q="x")])
    with pytest.raises(CassetteMissError, match='tool: expected "search", got "serch"'):
        cassette.answer("serch", {"q": "x"})


def test_miss_on_empty_cassette() -> None:
    with pytest.raises(CassetteMissError, match="the cassette is empty"):
        ReplayCassette([]).answer("t", {})


def test_miss_message_is_bounded() -> None:
    big = {f"k{i}": "v" * 500 for i in range(50)}
    cassette = ReplayCassette([Interaction(tool="t", args=big, ok=True)])
    with pytest.raises(CassetteMissError) as caught:
        cassette.answer("t", {**big, "k0": "w"} | {f"n{i}": i for i in range(20)})
    text = caught.value.message
    assert len(text) < 2000
    assert "more differences" in text


def test_duplicate_recordings_are_shown_once() -> None:
    cassette = ReplayCassette([entry("t", x=1), entry("t", x=1), entry("t", x=2)])
    with pytest.raises(CassetteMissError) as caught:
        cassette.answer("t", {"x": 3})
    assert nearest_indexes(caught.value) == [0, 2]


def test_diff_values_paths() -> None:
    assert diff_values({"a": [1, {"b": 2}]}, {"a": [1.0, {"b": 3}, 4]}, "args") == [
        "args.a[1].b: expected 2, got 3",
        "args.a[2]: not recorded, got 4",
    ]
    assert diff_values({"odd key": 1}, {"odd key": True}, "args") == [
        'args["odd key"]: expected 1, got true'
    ]
