"""Scoring (harness.grading.scoring): all graders pass, or a weighted mean reaches the threshold;
uncertain is never a pass; a grader that cannot run is an error."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.grading.scoring import decide, weighted_score
from harness.grading.verdict import ERRORED, FAILED, PASSED, UNCERTAIN
from harness.results import VerdictStatus
from tests.support.graders import verdict_with as v


def test_without_a_threshold_every_grader_must_pass() -> None:
    assert decide([v(PASSED), v(PASSED)], None).status == PASSED
    decision = decide([v(PASSED), v(FAILED, name="b")], None)
    assert decision.status == FAILED
    assert decision.evidence == "b: b fail"
    assert decide([], None).status == PASSED


def test_weighted_mean_against_the_threshold() -> None:
    verdicts = [v(PASSED, weight=3), v(FAILED, weight=1)]
    assert weighted_score(verdicts) == 0.75
    assert decide(verdicts, 0.75).status == PASSED
    decision = decide(verdicts, 0.8)
    assert decision.status == FAILED
    assert decision.evidence == "weighted score 0.750 is below threshold 0.8"


def test_graders_own_scores_count() -> None:
    verdicts = [v(FAILED, score=0.9), v(PASSED, score=0.5)]
    assert weighted_score(verdicts) == pytest.approx(0.7)
    assert decide(verdicts, 0.7).status == PASSED  # 0.7 reaches 0.7 despite float sums


def test_uncertain_is_never_a_pass_even_above_the_threshold() -> None:
    decision = decide([v(PASSED, weight=9), v(UNCERTAIN, score=0.5)], 0.1)
    assert decision.status == UNCERTAIN


def test_an_error_wins() -> None:
    assert decide([v(UNCERTAIN), v(ERRORED), v(FAILED)], None).status == ERRORED


def test_zero_weights_fall_back_to_all_pass() -> None:
    assert decide([v(PASSED, weight=0), v(FAILED, weight=0)], 0.5).status == FAILED


@given(st.lists(st.tuples(st.sampled_from([PASSED, FAILED]), st.floats(0, 10)), max_size=6))
def test_score_is_a_fraction(items: list[tuple[VerdictStatus, float]]) -> None:
    score = weighted_score([v(status, weight) for status, weight in items])
    assert score is None or 0 <= score <= 1 + 1e-9
