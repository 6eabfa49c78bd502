"""harness.running and the streamed summary.json: what is computed or written one value at a
time equals what the list-based code computed and wrote (summary metrics, summary.json bytes)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from harness.aggregate import streaming as running
from harness.aggregate.streaming import ValueTally
from harness.reports.summary import percentile
from harness.storage.runs import PRETTY_MAX_BYTES, RunDirectory

values = st.lists(
    st.one_of(st.none(), st.integers(0, 10**6), st.floats(0, 10, allow_nan=False)), max_size=60
)


class _Squares(Mapping[str, int]):
    """A Mapping that is no dict (as aggregate.sweep.KCurve): written as its dict."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __getitem__(self, key: str) -> int:
        if key not in {str(k) for k in range(self.n)}:
            raise KeyError(key)
        return int(key) ** 2

    def __iter__(self) -> Iterator[str]:
        return (str(k) for k in range(self.n))

    def __len__(self) -> int:
        return self.n


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


def test_streamed_json_is_write_json_byte_for_byte(tmp_path: Path) -> None:
    folder = RunDirectory(tmp_path)
    for rows in (3, 20_000):  # pretty under PRETTY_MAX_BYTES, compact above
        sweep = {"k": _Squares(3), "rows": [{"r": [1, {}]}, []], "empty": {}}
        value = {"a": 1, "cases": [], "sweep": sweep, "z": [1.5, None], "e": [], "d": {}}
        items = [{"id": f"case-{n}", "x": n / 7, "ok": n % 2 == 0} for n in range(rows)]
        folder.write_json_streamed("streamed.json", value, "cases", iter(items))
        plain = json.loads(json.dumps({**value, "cases": items}, default=dict))
        folder.write_json("whole.json", plain)
        streamed = (tmp_path / "streamed.json").read_bytes()
        assert streamed == (tmp_path / "whole.json").read_bytes()
        assert (len(streamed) > PRETTY_MAX_BYTES) == (rows > 3)
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
