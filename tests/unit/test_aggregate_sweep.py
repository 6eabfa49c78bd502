"""harness.aggregate.sweep.KCurve: pass@k and pass^k for every k, computed when read, written as the
dict it stands for."""

from __future__ import annotations

import math

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from harness.aggregate.stats import pass_at_k, pass_hat_k
from harness.aggregate.sweep import KCurve
from harness.storage.runs import encode_line


@given(st.integers(0, 40).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))))
def test_k_curve_reads_and_encodes_as_its_dict(counts: tuple[int, int]) -> None:
    n, c = counts
    for estimator in (pass_at_k, pass_hat_k):
        expected = {str(k): estimator(n, c, k) for k in range(1, n + 1)}
        curve = KCurve(estimator, n, c)
        assert curve == expected and dict(curve) == expected and len(curve) == n
        assert "0" not in curve and f"{n + 1}" not in curve and "01" not in curve
        assert msgspec.json.decode(encode_line(curve)) == expected


def test_k_curve_of_no_trials_is_empty() -> None:
    assert dict(KCurve(pass_at_k, 0, 0)) == {}
    assert math.isclose(KCurve(pass_at_k, 2, 1)["1"] or 0, 0.5)
