"""Normalization: RunLedger's strip_keys, strip_paths, replace_paths and replace_text; no rules
change nothing, and no input is ever mutated."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.attempt.normalization import Normalizer
from harness.config.schema import Normalization, ReplaceText
from tests.support.strategies import PROPS, json_values, scalars

DOC: dict[str, Any] = {
    "id": "abc",
    "ts": "2025-01-02T03:04:05Z",
    "items": [
        {"id": 1, "name": "a", "meta": {"id": 9, "etag": "x"}},
        {"id": 2, "name": "b", "meta": {"id": 8, "etag": "y"}},
    ],
    "nested": {"deep": {"id": 3, "keep": True}},
}


def run(value: Any, **spec: Any) -> Any:
    return Normalizer(Normalization(**spec)).apply(value)


def test_strip_keys_at_any_depth() -> None:
    assert run(DOC, strip_keys=["id", "etag"]) == {
        "ts": "2025-01-02T03:04:05Z",
        "items": [{"name": "a", "meta": {}}, {"name": "b", "meta": {}}],
        "nested": {"deep": {"keep": True}},
    }


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("ts", {"a": 1, "list": [10, 20, 30], "obj": {"x": 1, "y": 2}}),
        ("list.1", {"a": 1, "ts": 5, "list": [10, 30], "obj": {"x": 1, "y": 2}}),
        ("list.*", {"a": 1, "ts": 5, "list": [], "obj": {"x": 1, "y": 2}}),
        ("obj.*", {"a": 1, "ts": 5, "list": [10, 20, 30], "obj": {}}),
        ("*", {}),
        ("missing.path", {"a": 1, "ts": 5, "list": [10, 20, 30], "obj": {"x": 1, "y": 2}}),
        ("a.deeper", {"a": 1, "ts": 5, "list": [10, 20, 30], "obj": {"x": 1, "y": 2}}),
        ("list.01", {"a": 1, "ts": 5, "list": [10, 20, 30], "obj": {"x": 1, "y": 2}}),
        ("obj..x", {"a": 1, "ts": 5, "list": [10, 20, 30], "obj": {"y": 2}}),
        ("", {"a": 1, "ts": 5, "list": [10, 20, 30], "obj": {"x": 1, "y": 2}}),
    ],
)
def test_strip_paths(path: str, expected: Any) -> None:
    value = {"a": 1, "ts": 5, "list": [10, 20, 30], "obj": {"x": 1, "y": 2}}
    assert run(value, strip_paths=[path]) == expected


def test_strip_paths_wildcard_in_the_middle() -> None:
    assert run(DOC, strip_paths=["items.*.meta.etag", "nested.deep"])["items"] == [
        {"id": 1, "name": "a", "meta": {"id": 9}},
        {"id": 2, "name": "b", "meta": {"id": 8}},
    ]
    assert run(DOC, strip_paths=["nested.deep"])["nested"] == {}


def test_numeric_segment_also_matches_a_key() -> None:
    assert run({"0": "a", "1": "b"}, strip_paths=["0"]) == {"1": "b"}


def test_replace_paths_replaces_only_existing_targets() -> None:
    out = run(DOC, replace_paths={"ts": "<ts>", "items.*.id": 0, "nope.x": 1, "items.5": 1})
    assert out["ts"] == "<ts>"
    assert [item["id"] for item in out["items"]] == [0, 0]
    assert "nope" not in out
    assert len(out["items"]) == 2


def test_replace_paths_copies_container_replacements() -> None:
    spec = Normalization(replace_paths={"a": {"fixed": [1]}, "b": {"fixed": [1]}})
    out = Normalizer(spec).apply({"a": 1, "b": 2})
    out["a"]["fixed"].append(2)
    assert out["b"] == {"fixed": [1]}
    assert spec.replace_paths["a"] == {"fixed": [1]}


def test_replace_text_in_every_string_in_order() -> None:
    rules = [
        ReplaceText(pattern=r"\d{4}-\d\d-\d\dT[\d:]+Z", replacement="<time>"),
        ReplaceText(pattern="<TIME>", replacement="T", flags="i"),
        ReplaceText(pattern=r"(\w)x", replacement=r"\1-"),
    ]
    out = run({"ts": DOC["ts"], "list": ["axb", 3, None], "x": "ax"}, replace_text=rules)
    assert out == {"ts": "T", "list": ["a-b", 3, None], "x": "a-"}


def test_replace_text_flags() -> None:
    text = "line1\nLINE2"
    assert run(text, replace_text=[ReplaceText(pattern="^line", replacement="L")]) == "L1\nLINE2"
    multi = ReplaceText(pattern="^line", replacement="L", flags="MI")
    assert run(text, replace_text=[multi]) == "L1\nL2"
    dotall = ReplaceText(pattern="1.L", replacement="", flags="s")
    assert run(text, replace_text=[dotall]) == "lineINE2"


def test_steps_run_in_runledger_order() -> None:
    # strip_keys before replace_paths: a stripped key is not re-created by a replacement.
    out = run(
        {"a": {"id": 1, "t": "2025"}, "b": "2025"},
        strip_keys=["id"],
        replace_paths={"a.id": 5, "b": "2025-x"},
        replace_text=[ReplaceText(pattern="2025", replacement="Y")],
    )
    assert out == {"a": {"t": "Y"}, "b": "Y-x"}


def test_input_is_never_mutated() -> None:
    before = copy.deepcopy(DOC)
    run(
        DOC,
        strip_keys=["etag"],
        strip_paths=["items.0", "nested.deep.id"],
        replace_paths={"items.*.name": "n"},
        replace_text=[ReplaceText(pattern="a", replacement="b")],
    )
    assert before == DOC


def test_scalars_and_none_pass_through() -> None:
    assert run(None, strip_paths=["a"], strip_keys=["a"]) is None
    assert run(5, replace_paths={"a": 1}) == 5
    assert run("ab", replace_text=[ReplaceText(pattern="a", replacement="")]) == "b"


def test_no_rules_change_nothing() -> None:
    assert Normalizer(None).apply({"a": 1}) == {"a": 1}
    assert Normalizer(Normalization()).apply({"a": 1}) == {"a": 1}
    assert Normalizer(Normalization(strip_keys=["a"])).apply({"a": 1}) == {}


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (ReplaceText(pattern="(", replacement=""), r"replace_text\[0\]: invalid regular"),
        (ReplaceText(pattern="a", replacement=r"\9"), r"replace_text\[0\]: invalid regular"),
        (ReplaceText(pattern="a", flags="x"), r"replace_text\[0\]\.flags: unknown flag 'x'"),
    ],
)
def test_bad_rules_fail_when_built(rule: ReplaceText, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Normalizer(Normalization(replace_text=[rule]))


paths = st.lists(st.sampled_from(["*", "0", "1", "a", "b", "id"]), min_size=1, max_size=3).map(
    ".".join
)

specs = st.builds(
    Normalization,
    strip_keys=st.lists(st.sampled_from(["a", "b", "id"]), max_size=2),
    strip_paths=st.lists(paths, max_size=2),
    replace_paths=st.dictionaries(paths, json_values, max_size=2),
    replace_text=st.lists(
        st.builds(ReplaceText, pattern=st.sampled_from(["a", "^.", r"\d+", "(?i)B"])), max_size=2
    ),
)

keyed_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b", "id", "0", "x"]), inner, max_size=3),
    ),
    max_leaves=15,
)


@PROPS
@given(specs, keyed_values)
def test_normalizer_never_mutates_its_input(spec: Normalization, value: Any) -> None:
    before = copy.deepcopy(value)
    spec_before = copy.deepcopy(spec.replace_paths)
    normalizer = Normalizer(spec)
    first = normalizer.apply(value)
    assert value == before
    assert spec.replace_paths == spec_before
    assert normalizer.apply(before) == first  # deterministic
