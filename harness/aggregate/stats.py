"""Statistics of repeated trials: pass rate with a Wilson interval, pass@k, pass^k, flakiness.

Pure functions over counts (`n` trials counted, `c` of them passed) and trial outcomes in
trial order. Infrastructure errors are never trials: callers leave them out of `n` (a lost
trial shrinks `n`), so none of these numbers can be moved by a crash of the machinery.

Estimators, named as the summary names them:
- `pass_at_k`: unbiased, Chen et al. 2021: 1 - C(n-c, k) / C(n, k). "At least one of k passes."
- `pass_hat_k`: unbiased, tau-bench: C(c, k) / C(n, k). "All of k pass."
- `pass_hat_k_plugin`: (c/n)^k, the plug-in estimator Vally prints as pass^k; biased upward
  for small n (it draws with replacement), kept for comparison and always labelled as such.
Each is None when undefined (k < 1 or k > n), never a made-up 0 or NaN.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

# The two-sided 95% normal quantile.
Z_95 = 1.959963984540054


def pass_rate(n: int, c: int) -> float | None:
    _check(n, c)
    return c / n if n else None


def wilson_interval(n: int, c: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval of c successes in n trials (95% by default).

    Unlike the normal approximation it stays inside [0, 1] and is not empty at c = 0 or c = n,
    which is exactly where small eval runs live.
    """
    _check(n, c)
    if n == 0:
        return None
    p = c / n
    z2 = z * z
    denominator = 1 + z2 / n
    center = (p + z2 / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    # At c = 0 (c = n) the lower (upper) bound is 0 (1) exactly; floats land a hair off.
    low = 0.0 if c == 0 else max(0.0, center - half)
    high = 1.0 if c == n else min(1.0, center + half)
    return low, high


def pass_at_k(n: int, c: int, k: int) -> float | None:
    """Unbiased pass@k: the chance that at least one of k trials drawn without replacement
    from the n observed passes."""
    _check(n, c)
    if not 1 <= k <= n:
        return None
    if n - c < k:
        return 1.0
    # Exact rationals, rounded once: float rounding is monotone, so pass@k stays monotone in k.
    return float(1 - Fraction(math.comb(n - c, k), math.comb(n, k)))


def pass_hat_k(n: int, c: int, k: int) -> float | None:
    """Unbiased pass^k: the chance that all of k trials drawn without replacement pass."""
    _check(n, c)
    if not 1 <= k <= n:
        return None
    return float(Fraction(math.comb(c, k), math.comb(n, k)))


def pass_hat_k_plugin(n: int, c: int, k: int) -> float | None:
    """The plug-in (c/n)^k that Vally reports as pass^k. Not unbiased: labelled wherever shown."""
    _check(n, c)
    if not 1 <= k <= n:
        return None
    return float(Fraction(c, n) ** k)


class Stability(enum.StrEnum):
    """Assay's classes of a trial sequence, in trial order."""

    no_trials = "no_trials"  # every trial was lost to infrastructure errors
    deterministic_pass = "deterministic_pass"
    deterministic_fail = "deterministic_fail"
    flaky = "flaky"  # failed first, passed later, and the last trial passed
    unstable = "unstable"  # any other mix of passes and failures


def classify(outcomes: Sequence[bool]) -> Stability:
    """Assay's split of mixed outcomes: `flaky` (the first trial failed and the last passed, a
    fail -> pass shape that looks like warm-up) versus `unstable` (anything else mixed)."""
    if not outcomes:
        return Stability.no_trials
    if all(outcomes):
        return Stability.deterministic_pass
    if not any(outcomes):
        return Stability.deterministic_fail
    first_fail = outcomes.index(False)
    first_pass = outcomes.index(True)
    if first_fail < first_pass and outcomes[-1]:
        return Stability.flaky
    return Stability.unstable


@dataclass(frozen=True)
class TrialStats:
    """Every statistic of one (case, model): what summary.json and summary.md print."""

    planned: int
    n: int
    c: int
    k: int
    pass_rate: float | None
    wilson_95: tuple[float, float] | None
    pass_at_k: float | None
    pass_hat_k: float | None
    pass_hat_k_plugin: float | None
    flaky: bool
    minority_share: float | None
    stability: Stability

    @property
    def lost(self) -> int:
        return self.planned - self.n


def trial_stats(outcomes: Sequence[bool], *, planned: int, k: int | None = None) -> TrialStats:
    """Statistics of the counted trials of one (case, model), in trial order.

    Args:
        outcomes: passed or not, for each counted trial (infrastructure errors left out).
        planned: how many trials were planned; `planned - len(outcomes)` were lost.
        k: the k of pass@k and pass^k; default: the planned number of trials. When trials were
            lost so that k > n, both are None: the summary says the trials were lost instead.
    """
    n, c = len(outcomes), sum(outcomes)
    if planned < n:
        raise ValueError(f"planned ({planned}) is less than the counted trials ({n})")
    k = planned if k is None else k
    return TrialStats(
        planned=planned,
        n=n,
        c=c,
        k=k,
        pass_rate=pass_rate(n, c),
        wilson_95=wilson_interval(n, c),
        pass_at_k=pass_at_k(n, c, k),
        pass_hat_k=pass_hat_k(n, c, k),
        pass_hat_k_plugin=pass_hat_k_plugin(n, c, k),
        flaky=0 < c < n,
        minority_share=min(c, n - c) / n if n else None,
        stability=classify(outcomes),
    )


def mean(values: Sequence[float | None]) -> float | None:
    """The mean of the defined values (a macro average over cases); None if there are none."""
    present = [value for value in values if value is not None]
    return sum(present) / len(present) if present else None


def _check(n: int, c: int) -> None:
    if n < 0 or not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
