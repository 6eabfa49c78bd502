"""Aggregates fed one value at a time (harness.aggregate.streaming) equal the list-based forms:
min, percentiles, sum and mean, also past the distinct-value cap, where the values are read
again."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from harness.aggregate import streaming as running
from harness.aggregate.streaming import ValueTally
from harness.reports.summary import percentile

values = st.lists(
    st.one_of(st.none(), st.integers(0, 10**6), st.floats(0, 10, allow_nan=False)), max_size=60
)


@given(values)
def test_value_tally_equals_the_list_forms(given_values: list[float | None]) -> None:
    present = [value for value in given_values if value is not None]
    tally = ValueTally.of(given_values)
    assert tally.count == len(present)
    if not present:
        assert tally.summary() == dict.fromkeys(("min", "p50", "p95", "mean", "max"))
        return
    total = 0.0
    for value in present:  # what sum() does on Python 3.11: a left fold
        total = total + value
    assert tally.total == total and tally.mean() == total / len(present)
    summary = tally.summary()
    assert summary["min"] == min(present) and summary["max"] == max(present)
    for fraction, key in ((0.5, "p50"), (0.95, "p95")):
        assert summary[key] == percentile(present, fraction)
        assert tally.percentile(fraction) == percentile(present, fraction)


@given(values, st.integers(1, 6))
@example([0.0, 5e-324], 1)  # a window whose width over the bucket count is 0
@example([-1.7e308, 1.7e308, 0.0, 1.0, -5e-324], 1)  # a span past the largest float
def test_percentiles_past_the_distinct_cap_read_the_values_again(
    given_values: list[float | None], cap: int
) -> None:
    present = [value for value in given_values if value is not None]
    passes = []

    def reread() -> list[float | None]:
        passes.append(1)
        return given_values

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(running, "DISTINCT_KEPT", cap)
        patch.setattr(running, "BUCKETS", 4)  # few buckets: several narrowing passes
        tally = ValueTally(reread=reread)
        for value in given_values:
            tally.add(value)
        for fraction in (0.0, 0.5, 0.95, 1.0):
            expected = percentile(present, fraction) if present else None
            assert tally.percentile(fraction) == expected
    assert passes or len(set(present)) <= cap
