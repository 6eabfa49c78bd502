"""Replay matching (harness.cassette.matching): canonical arguments, identical calls consumed in
order, strict mode's problems, and misses that show the nearest recordings with a diff."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.cassette.format import Interaction, read_cassette
from harness.cassette.matching import UNUSED_LISTED, ReplayCassette, canonical_args, diff_values
from harness.errors import CassetteMissError
from tests.support.strategies import PROPS, json_args

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
    path = tmp_path / "c.jsonl"
    path.write_text("\n" + json.dumps({"tool": "t", "args": {}, "ok": True}) + "\n")
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


def shuffled(value: Any, rng: random.Random) -> Any:
    """A deep copy with every object's keys in a random order."""
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {key: shuffled(value[key], rng) for key in keys}
    if isinstance(value, list):
        return [shuffled(item, rng) for item in value]
    return value


@PROPS
@given(json_args, st.randoms(use_true_random=False))
def test_key_order_never_matters(args: dict[str, Any], rng: random.Random) -> None:
    other = shuffled(args, rng)
    assert canonical_args(other) == canonical_args(args)
    cassette = ReplayCassette([Interaction(tool="t", args=args, ok=True, result=1)])
    assert cassette.answer("t", other).result == 1


def test_a_long_argument_is_cut_between_words_never_inside_one() -> None:
    query = "weather forecast for the weekend in Oslo " * 5
    cassette = ReplayCassette([entry("search", q=query)], lines=[1], source="c.jsonl")
    with pytest.raises(CassetteMissError) as caught:
        cassette.answer("search", {"q": "weather in Bergen"})
    [label] = [line for line in caught.value.message.splitlines() if "1. c.jsonl:1:" in line]
    shown = label.split("search ", 1)[1]
    assert shown.endswith("...")
    kept = shown.removesuffix("...")
    assert json.dumps({"q": query}, separators=(",", ":")).startswith(kept)
    assert kept.endswith((" ", ",", ":"))  # a word (or a JSON item) ended where it was cut


def test_strict_names_the_first_unused_entries_and_counts_the_rest_as_ranges() -> None:
    entries = [entry("t", n=n) for n in range(30)]
    cassette = ReplayCassette(entries, strict=True, lines=list(range(2, 32)), source="c.jsonl")
    for n in (0, 20):
        cassette.answer("t", {"n": n})
    problems = cassette.problems()
    assert len(problems) == UNUSED_LISTED + 1
    assert problems[0].message == 'c.jsonl:3: t {"n":1} was never called'
    assert problems[-1].message == (
        "18 more of the 30 recorded entries were never called (28 unused in all): "
        "c.jsonl:13-21, c.jsonl:23-31"
    )
    assert cassette.unused_ranges() == ["c.jsonl:3-21", "c.jsonl:23-31"]
