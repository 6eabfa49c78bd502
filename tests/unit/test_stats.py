"""harness.aggregate.stats: hand-computed values, and properties that must hold for any n, c, k."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.aggregate.stats import (
    Stability,
    classify,
    mean,
    pass_at_k,
    pass_hat_k,
    pass_hat_k_plugin,
    pass_rate,
    trial_stats,
    wilson_interval,
)


@st.composite
def counts(draw: st.DrawFn, max_n: int = 60) -> tuple[int, int, int]:
    n = draw(st.integers(1, max_n))
    c = draw(st.integers(0, n))
    k = draw(st.integers(1, n))
    return n, c, k


def test_hand_computed_values() -> None:
    # n=5, c=3, k=2: C(2,2)/C(5,2) = 1/10 fail together; C(3,2)/C(5,2) = 3/10 pass together.
    assert pass_at_k(5, 3, 2) == pytest.approx(0.9)
    assert pass_hat_k(5, 3, 2) == pytest.approx(0.3)
    assert pass_hat_k_plugin(5, 3, 2) == pytest.approx(0.36)
    # k = n: "any passed" and "all passed".
    assert pass_at_k(5, 3, 5) == 1.0
    assert pass_hat_k(5, 3, 5) == 0.0
    assert pass_at_k(5, 0, 5) == 0.0
    assert pass_hat_k(5, 5, 5) == 1.0
    # Vally's docs example [T,T,F,T,T], k=5: the unbiased pass@5 is exactly 1, pass^5 (plug-in)
    # 0.8^5 = 0.32768, the unbiased pass^5 is 0.
    assert pass_at_k(5, 4, 5) == 1.0
    assert pass_hat_k_plugin(5, 4, 5) == pytest.approx(0.32768)
    assert pass_hat_k(5, 4, 5) == 0.0
    assert pass_rate(5, 3) == 0.6


def test_wilson_interval_hand_computed() -> None:
    low, high = wilson_interval(5, 3) or (math.nan, math.nan)
    assert low == pytest.approx(0.2307, abs=1e-4)
    assert high == pytest.approx(0.8824, abs=1e-4)
    low, high = wilson_interval(10, 0) or (math.nan, math.nan)
    assert low == 0.0
    assert high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson_interval(10, 10) or (math.nan, math.nan)
    assert low == pytest.approx(0.7225, abs=1e-4)
    assert high == 1.0


def test_undefined_values_are_none() -> None:
    assert wilson_interval(0, 0) is None
    assert pass_rate(0, 0) is None
    assert pass_at_k(3, 1, 4) is None  # k > n: not enough trials to say
    assert pass_hat_k(3, 1, 0) is None
    assert pass_hat_k_plugin(0, 0, 1) is None
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        ([], Stability.no_trials),
        ([True, True], Stability.deterministic_pass),
        ([False], Stability.deterministic_fail),
        ([False, True, True], Stability.flaky),
        ([False, False, True], Stability.flaky),
        ([False, True, False, True], Stability.flaky),
        ([True, False], Stability.unstable),
        ([False, True, False], Stability.unstable),
        ([True, False, True], Stability.unstable),
    ],
)
def test_assay_flaky_versus_unstable(outcomes: list[bool], expected: Stability) -> None:
    assert classify(outcomes) is expected


def test_trial_stats_of_a_lost_trial() -> None:
    stats = trial_stats([True, False, True, True], planned=5)
    assert (stats.n, stats.c, stats.k, stats.lost) == (4, 3, 5, 1)
    # k = planned trials = 5 > n = 4: no pass@5 can be claimed from 4 trials.
    assert stats.pass_at_k is None and stats.pass_hat_k is None
    assert stats.pass_rate == 0.75
    assert stats.flaky and stats.minority_share == 0.25
    assert stats.stability is Stability.unstable
    with pytest.raises(ValueError):
        trial_stats([True, True], planned=1)


def test_mean_skips_undefined() -> None:
    assert mean([0.5, None, 1.0]) == 0.75
    assert mean([None]) is None


@given(counts())
def test_pass_hat_k_never_exceeds_pass_at_k(value: tuple[int, int, int]) -> None:
    n, c, k = value
    at, hat, plugin = pass_at_k(n, c, k), pass_hat_k(n, c, k), pass_hat_k_plugin(n, c, k)
    assert at is not None and hat is not None and plugin is not None
    assert 0.0 <= hat <= at <= 1.0
    assert 0.0 <= plugin <= 1.0
    # Drawing with replacement can only make "all k pass" likelier than without.
    assert hat <= plugin + 1e-12


@given(counts())
def test_pass_at_k_is_monotone_in_k(value: tuple[int, int, int]) -> None:
    n, c, k = value
    if k < n:
        larger, smaller = pass_at_k(n, c, k + 1), pass_at_k(n, c, k)
        assert larger is not None and smaller is not None
        assert larger >= smaller
        hat_larger, hat_smaller = pass_hat_k(n, c, k + 1), pass_hat_k(n, c, k)
        assert hat_larger is not None and hat_smaller is not None
        assert hat_larger <= hat_smaller


@given(counts())
def test_pass_at_1_and_pass_hat_1_are_the_pass_rate(value: tuple[int, int, int]) -> None:
    n, c, _ = value
    assert pass_at_k(n, c, 1) == pytest.approx(c / n)
    assert pass_hat_k(n, c, 1) == pytest.approx(c / n)


@given(counts(max_n=2000))
def test_wilson_interval_contains_the_rate(value: tuple[int, int, int]) -> None:
    n, c, _ = value
    interval = wilson_interval(n, c)
    assert interval is not None
    low, high = interval
    assert 0.0 <= low <= c / n + 1e-12
    assert c / n - 1e-12 <= high <= 1.0


@given(st.lists(st.booleans(), max_size=30))
def test_trial_stats_are_consistent(outcomes: list[bool]) -> None:
    stats = trial_stats(outcomes, planned=len(outcomes) + 1)
    assert stats.n == len(outcomes) and stats.lost == 1
    assert stats.flaky == (stats.stability in (Stability.flaky, Stability.unstable))
    if stats.minority_share is not None:
        assert 0.0 <= stats.minority_share <= 0.5
