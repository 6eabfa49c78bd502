"""Aggregates fed one value at a time that equal their list-based forms exactly, so a report
built while results stream by is the report built from a list of them.

Percentiles count each distinct value: metrics such as wall_ms, tool_calls or tokens take few
distinct values however many attempts a run has. Past DISTINCT_KEPT distinct values (per-attempt
costs, say) the counts are dropped and a percentile is found by reading the values again from
where they are stored (`reread`, results.jsonl), a few passes that keep a bounded number of them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable

DISTINCT_KEPT = 4096
BUCKETS = 4096  # a percentile past DISTINCT_KEPT: the buckets each pass over the values counts

Reread = Callable[[], Iterable[float | None]]


class ValueTally:
    """min, nearest-rank percentiles, sum and mean of the values added (None ignored).

    The sum is a left fold in arrival order starting at int 0, which is what `sum()` does on
    Python 3.11; every list-based summary in harness uses this class too, so the two agree on
    any Python (3.12's `sum()` compensates float rounding, a fold does not).
    """

    __slots__ = ("_counts", "_reread", "count", "max", "min", "total")

    def __init__(self, *, percentiles: bool = True, reread: Reread | None = None) -> None:
        """Without `percentiles` only the sum, count, min and max are kept (usage totals need
        no more). With `reread` (every value added, again, in any order) the distinct values
        counted are capped at DISTINCT_KEPT."""
        self._counts: Counter[float] | None = Counter() if percentiles else None
        self._reread = reread
        self.count = 0
        self.total: float = 0
        self.min: float | None = None  # the first smallest, as min() returns it
        self.max: float | None = None

    @classmethod
    def of(cls, values: Iterable[float | None]) -> ValueTally:
        tally = cls()
        for value in values:
            tally.add(value)
        return tally

    def add(self, value: float | None) -> None:
        if value is None:
            return
        if self._counts is not None:
            self._counts[value] += 1
            if self._reread is not None and len(self._counts) > DISTINCT_KEPT:
                self._counts = None  # percentiles read the values again (nth_smallest)
        self.count += 1
        self.total = self.total + value
        if self.min is None or value < self.min:
            self.min = value
        if self.max is None or value > self.max:
            self.max = value

    def percentile(self, fraction: float) -> float | None:
        """Nearest rank, as RunLedger computes it: sorted(values)[ceil(p*n) - 1]."""
        if not self.count:
            return None
        index = max(math.ceil(fraction * self.count) - 1, 0)
        if self._counts is None:
            if self._reread is None:
                raise ValueError("made with percentiles=False")
            assert self.min is not None and self.max is not None
            return nth_smallest(self._reread, index, self.min, self.max)
        seen = 0
        for value in sorted(self._counts):
            seen += self._counts[value]
            if seen > index:
                return value
        raise AssertionError("unreachable: the counts add up to count")

    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    def summary(self) -> dict[str, float | None]:
        """`{min, p50, p95, mean, max}` as summary.json writes a metric."""
        if not self.count:
            return {"min": None, "p50": None, "p95": None, "mean": None, "max": None}
        return {
            "min": self.min,
            "p50": self.percentile(0.5),
            "p95": self.percentile(0.95),
            "mean": self.total / self.count,
            "max": self.max,
        }


def nth_smallest(values: Reread, rank: int, low: float, high: float) -> float:
    """sorted(values())[rank], all values lying in [low, high], holding at most DISTINCT_KEPT
    of them: each pass counts the values per bucket of the window and narrows the window to
    the bucket holding the rank (to the values found there), until few enough to sort."""
    below = 0  # values under the window
    while True:
        if low == high:
            return low
        # A position within the window, not a bucket width: the width of two adjacent
        # subnormals' window divided by the bucket count is 0. Halved where the span overflows.
        scale = 0.5 if math.isinf(high - low) else 1.0
        scaled_low, span = low * scale, high * scale - low * scale
        counts = [0] * BUCKETS
        lows: list[float | None] = [None] * BUCKETS
        highs: list[float | None] = [None] * BUCKETS
        for value in values():
            if value is None or value < low or value > high:
                continue
            bucket = min(int((value * scale - scaled_low) / span * BUCKETS), BUCKETS - 1)
            counts[bucket] += 1
            smallest, largest = lows[bucket], highs[bucket]
            if smallest is None or value < smallest:
                lows[bucket] = value
            if largest is None or value > largest:
                highs[bucket] = value
        chosen = 0
        while rank >= below + counts[chosen]:
            below += counts[chosen]
            chosen += 1
        count, window_low, window_high = counts[chosen], lows[chosen], highs[chosen]
        assert window_low is not None and window_high is not None
        if window_low == window_high:
            return window_low
        if count <= DISTINCT_KEPT:
            inside = sorted(
                value
                for value in values()
                if value is not None and window_low <= value <= window_high
            )
            return inside[rank - below]
        low, high = window_low, window_high
