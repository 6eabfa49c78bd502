"""The exact paired test: known values and properties."""

from __future__ import annotations

from fractions import Fraction
from math import comb

from hypothesis import given
from hypothesis import strategies as st

from harness.gate.paired import paired_drop, sign_test_p

counts = st.integers(min_value=0, max_value=60)


def test_known_values() -> None:
    assert sign_test_p(0, 0) == 1.0
    assert sign_test_p(5, 0) == 1 / 32
    assert sign_test_p(0, 5) == 1.0
    assert sign_test_p(4, 1) == 6 / 32


def test_paired_drop_counts_flips() -> None:
    test = paired_drop([(True, False), (True, False), (False, True), (True, True), (False, False)])
    assert (test.pairs, test.worse, test.better) == (5, 2, 1)
    assert test.drop == 1 / 5
    assert test.p_value == sign_test_p(2, 1) == 4 / 8


@given(counts, counts)
def test_p_values_are_probabilities_and_exact(worse: int, better: int) -> None:
    p = sign_test_p(worse, better)
    assert 0 < p <= 1
    n = worse + better
    exact = Fraction(sum(comb(n, k) for k in range(worse, n + 1)), 2**n) if n else Fraction(1)
    assert abs(p - float(exact)) < 1e-12


@given(counts, counts)
def test_more_bad_flips_never_raise_the_p_value(worse: int, better: int) -> None:
    if better > 0:
        assert sign_test_p(worse + 1, better - 1) <= sign_test_p(worse, better)
