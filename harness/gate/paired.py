"""Paired comparison of two runs' trials: the exact McNemar test (a sign test on the flips).

Only discordant pairs carry information: `worse` trials passed in the baseline and fail now,
`better` the reverse. Under "no change" each flip is a fair coin, so the chance of at least
`worse` bad flips out of `worse + better` is a binomial tail with p = 1/2, computed exactly
with integers (no normal approximation, which is wrong for the handful of flips evals have).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class PairedTest:
    pairs: int  # trials present in both runs
    worse: int  # passed before, fail now
    better: int  # failed before, pass now
    drop: float  # baseline pass rate - current pass rate, over the pairs
    p_value: float  # one-sided: P(at least `worse` bad flips | no change)


def sign_test_p(worse: int, better: int) -> float:
    """One-sided exact p-value of `worse` or more of `worse + better` flips going bad."""
    if worse < 0 or better < 0:
        raise ValueError("counts must be 0 or more")
    flips = worse + better
    if flips == 0:
        return 1.0
    tail = sum(math.comb(flips, k) for k in range(worse, flips + 1))
    return float(tail / 2**flips)


def paired_drop(pairs: Iterable[tuple[bool, bool]]) -> PairedTest:
    """Test `(passed_in_baseline, passes_now)` pairs for a drop in pass rate."""
    total = worse = better = 0
    for before, now in pairs:
        total += 1
        worse += before and not now
        better += now and not before
    drop = (worse - better) / total if total else 0.0
    return PairedTest(total, worse, better, drop, sign_test_p(worse, better))
