"""harness.grading.evidence, and the graders that use it: evidence shows where two values part,
never two identical prefixes cut before the difference."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.grading.context import GradingContext
from harness.grading.evidence import first_difference, json_differences, text_difference
from harness.grading.output import ExactMatch, RegexMatch, grade_exact_match, grade_regex

PREFIX = "Your meeting with the regional sales team about the quarterly numbers is booked for "


def test_a_long_common_prefix_is_skipped_to_the_difference() -> None:
    expected, observed = PREFIX + "Tuesday at 4pm in room B.", PREFIX + "Tuesday at 5pm in room B."
    verdict = grade_exact_match(ExactMatch(value=expected), GradingContext(output=observed))
    assert verdict.evidence == (
        "output differs: first difference at character 95: expected …'bers is booked for "
        "Tuesday at 4pm in room B.', got …'bers is booked for Tuesday at 5pm in room B.'"
    )
    assert verdict.observed == observed  # whole, for the reports


def test_json_values_differ_by_path() -> None:
    expected = {"actions": [{"title": "Call Ana", "at": 9}, {"title": "Send notes"}], "done": False}
    observed = {"actions": [{"title": "Call Anna", "at": 9.0}], "done": 0, "extra": [1]}
    verdict = grade_exact_match(ExactMatch(value=expected), GradingContext(output=observed))
    assert verdict.evidence == (
        "output differs at 4 path(s): actions[0].title: expected 'Call Ana', got 'Call Anna'; "
        'actions[1]: missing (expected {"title":"Send notes"}); done: expected false, got 0; '
        "extra: unexpected (got [1])"
    )


def test_a_regex_miss_shows_both_ends_of_a_long_output() -> None:
    text = PREFIX * 3 + "Friday."
    verdict = grade_regex(RegexMatch(pattern="Tuesday"), GradingContext(output=text))
    assert verdict.evidence.startswith("output does not match /Tuesday/; output: 'Your meeting")
    assert verdict.evidence.endswith("booked for Friday.'")
    assert verdict.observed == text


@settings(max_examples=300, deadline=None)
@given(
    common=st.text(max_size=300),
    left=st.text(max_size=40),
    right=st.text(max_size=40),
)
def test_the_window_always_holds_the_first_difference(common: str, left: str, right: str) -> None:
    expected, observed = common + left, common + right
    if expected == observed:
        return
    index = first_difference(expected, observed)
    assert expected[:index] == observed[:index]
    line = text_difference(expected, observed)
    assert f"character {index}" in line
    for text in (expected, observed):
        if index < len(text):  # the differing character is shown, with what follows it
            shown = repr(text[index : index + 10])[1:-1]
            # The window is quoted as a whole: a `'` in it is escaped when it also holds a `"`.
            assert shown in line or shown.replace("'", "\\'") in line


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
        ),
    )
)
def test_a_value_never_differs_from_itself(value: Any) -> None:
    assert json_differences(value, value) == []
