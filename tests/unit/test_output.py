"""Output checks: must_contain, must_not_contain, regex_match, regex_not_match, json_match,
exact_match. Each passes and fails, and a failure shows what was expected and what was seen."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.config.schema import GraderSpec
from harness.grading.catalogue import grader_of
from harness.grading.context import GradingContext
from harness.grading.output import (
    ExactMatch,
    JsonMatch,
    MustContain,
    MustNotContain,
    RegexMatch,
    RegexNotMatch,
    grade_exact_match,
    grade_json_match,
    grade_must_contain,
    grade_must_not_contain,
    grade_regex,
)
from harness.grading.verdict import Verdict

SCHEMA = {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}}


def run(spec: GraderSpec, output: Any) -> Verdict:
    result = grader_of(spec).grade(spec, GradingContext(output=output))
    assert isinstance(result, Verdict)
    return result


def test_must_contain_passes_with_every_string() -> None:
    verdict = run(MustContain(must_contain=["Paris", "France"]), "Paris is in France")
    assert verdict.passed and verdict.score == 1.0
    assert verdict.grader == "must_contain"


def test_must_contain_fails_naming_the_missing_strings_and_the_output() -> None:
    verdict = grade_must_contain(
        MustContain(must_contain=["Paris", "Texas"]), GradingContext(output="Paris, France")
    )
    assert not verdict.passed
    assert verdict.score == 0.5
    assert verdict.evidence == ("output lacks 'Texas' (1 of 2 missing); output: 'Paris, France'")
    assert verdict.expected == ["Paris", "Texas"]
    assert verdict.observed == "'Paris, France'"


def test_must_contain_is_case_sensitive_unless_told() -> None:
    assert not run(MustContain(must_contain="paris"), "Paris").passed
    assert run(MustContain(must_contain="paris", case_sensitive=False), "PARIS").passed


def test_must_contain_checks_a_json_output_as_its_compact_text() -> None:
    output = {"reply": "Refund issued", "ticket": 7}
    assert run(MustContain(must_contain=['"ticket":7', "Refund"]), output).passed


def test_must_not_contain() -> None:
    assert run(MustNotContain(must_not_contain=["error"]), "all good").passed
    verdict = grade_must_not_contain(
        MustNotContain(must_not_contain=["error", "sorry"]), GradingContext(output="sorry!")
    )
    assert not verdict.passed
    assert verdict.evidence == "output contains forbidden 'sorry'; output: 'sorry!'"
    assert verdict.details == {"found": ["sorry"]}


def test_regex_match_is_an_unanchored_search_with_flags() -> None:
    assert run(RegexMatch(pattern=r"\d{3}"), "call 555 now").passed
    assert not run(RegexMatch(pattern="^call$"), "call 555").passed
    assert run(RegexMatch(pattern="^NOW$", flags=["i", "m"]), "call\nnow").passed


def test_regex_match_failure_names_pattern_and_output() -> None:
    verdict = grade_regex(RegexMatch(pattern="[0-9]+", flags="i"), GradingContext(output="none"))
    assert verdict.evidence == "output does not match /[0-9]+/i; output: 'none'"
    assert verdict.expected == "/[0-9]+/i"


def test_regex_not_match() -> None:
    assert run(RegexNotMatch(pattern="secret"), "public").passed
    verdict = run(RegexNotMatch(pattern="s.cret"), "my secret")
    assert not verdict.passed
    assert verdict.evidence == "output matches forbidden /s.cret/ at 3: 'secret', in 'my secret'"


def test_json_match_validates_values_and_parses_strings_in_full() -> None:
    spec = JsonMatch(schema=SCHEMA)
    assert run(spec, {"city": "Paris"}).passed
    assert run(spec, '{"city": "Paris"}').passed
    verdict = run(spec, 'Sure! {"city": "Paris"}')
    assert not verdict.passed
    assert verdict.evidence.startswith("output is not JSON (")


def test_json_match_strips_a_fence_only_when_asked() -> None:
    text = 'Here:\n```json\n{"city": "Rome"}\n```\n'
    assert not run(JsonMatch(schema=SCHEMA), text).passed
    assert run(JsonMatch(schema=SCHEMA, strip_fences=True), text).passed


def test_json_match_reports_every_schema_error_with_its_path() -> None:
    verdict = grade_json_match(
        JsonMatch(schema=SCHEMA, schema_file="city.json"), GradingContext(output={"city": 3})
    )
    assert not verdict.passed
    assert verdict.evidence == (
        'output does not match city.json (1 error(s)): $.city: 3 is not of type "string"'
    )
    assert verdict.details == {
        "errors": [{"path": "$.city", "message": '3 is not of type "string"'}]
    }


@pytest.mark.parametrize(
    ("expected", "output", "passed"),
    [
        ("Paris", "Paris", True),
        ("Paris", "Paris ", False),
        ({"a": 1, "b": [1, 2]}, {"b": [1.0, 2], "a": 1.0}, True),
        ({"a": True}, {"a": 1}, False),
        ([1, 2], [2, 1], False),
        (None, None, False),  # a spec without a value is refused at load; never equal here
    ],
)
def test_exact_match(expected: Any, output: Any, passed: bool) -> None:
    spec = ExactMatch(value=expected)
    if expected is None:
        spec = ExactMatch(exact_match="x")
    assert run(spec, output).passed is passed


def test_exact_match_trim_and_case() -> None:
    assert run(ExactMatch(value="Paris", trim=True), "  Paris\n").passed
    assert run(ExactMatch(value="paris", case_sensitive=False), "PARIS").passed
    verdict = grade_exact_match(ExactMatch(value="Paris"), GradingContext(output="Lyon"))
    assert verdict.evidence == (
        "output differs: first difference at character 0: expected 'Paris', got 'Lyon'"
    )
    assert (verdict.expected, verdict.observed) == ("Paris", "Lyon")


def test_verdicts_carry_the_specs_name_and_weight() -> None:
    verdict = run(MustContain(must_contain="x", name="mentions x", weight=2.5), "x")
    assert (verdict.name, verdict.weight, verdict.label) == ("mentions x", 2.5, "mentions x")


@given(st.text(max_size=40), st.data())
def test_any_slice_of_the_output_is_found(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    part = text[start:end]
    assert run(MustContain(must_contain=[part]), text).passed
    assert run(RegexMatch(pattern=re.escape(part)), text).passed
    assert run(ExactMatch(value=text), text).passed
    if part:
        assert not run(MustNotContain(must_not_contain=[part]), text).passed


@given(st.dictionaries(st.text(max_size=4), st.integers() | st.text(max_size=4), max_size=5))
def test_exact_match_ignores_key_order(value: dict[str, Any]) -> None:
    reordered = dict(reversed(list(value.items())))
    assert run(ExactMatch(value=value), reordered).passed
