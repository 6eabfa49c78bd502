"""The suite-wide checks of a gate: pass rate, its drop, wall time and the paired sign test.

Pure: per-unit counts and wall times in, `Check`s out.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import msgspec

from harness.aggregate.streaming import Reread, ValueTally
from harness.config.schema import Regression, Significance
from harness.gate.baseline import Baseline, CaseRow
from harness.gate.policy import Policy, Unit
from harness.gate.units import paired_drop


class Check(msgspec.Struct):
    name: str
    passed: bool
    value: float | None
    limit: float | None
    baseline: float | None = None
    message: str = ""


class UnitCounts(msgspec.Struct, frozen=True):
    """What the aggregate checks need of a unit: its counted trials and passes."""

    case_id: str
    model: str | None
    counted: int
    passed: int

    @classmethod
    def of(cls, unit: Unit, rows: Iterable[CaseRow]) -> UnitCounts:
        counted = passed = 0
        for row in rows:
            if row.status != "skipped":
                counted += 1
                passed += row.passed
        return cls(unit[0], unit[1], counted, passed)


class WallStats:
    """Mean and p95 of wall_ms over a run's rows, in the rows' order (see ValueTally)."""

    def __init__(self, policy: Policy, reread: Reread | None = None) -> None:
        # The distribution only when a p95 check is configured.
        p95 = policy.regression.max_p95_wall_ms_delta_pct is not None
        self.values = ValueTally(percentiles=p95, reread=reread if p95 else None)

    @classmethod
    def of(cls, values: Iterable[float | None], policy: Policy) -> WallStats:
        stats = cls(policy)
        for value in values:
            stats.add(value)
        return stats

    def add(self, value: float | None) -> None:
        self.values.add(value)


def aggregate_checks(
    units: Sequence[UnitCounts],
    base: Sequence[UnitCounts],
    baseline: Baseline | None,
    wall: WallStats,
    policy: Policy,
    excluded: set[str],
) -> list[Check]:
    """RunLedger's aggregate checks, those the policy sets: pass rate (for each model too in a
    sweep), its drop against the baseline, and the change of mean and p95 wall time."""
    has_base = baseline is not None and bool(baseline.rows)
    checks = _pass_rate_checks(units, base if has_base else None, policy.regression, excluded)
    base_rows = baseline.rows if baseline is not None else ()
    return checks + _wall_checks(base_rows, wall, policy)


def _pass_rate_checks(
    units: Sequence[UnitCounts],
    base: Sequence[UnitCounts] | None,
    regression: Regression,
    excluded: set[str],
) -> list[Check]:
    checks: list[Check] = []
    models = sorted({unit.model for unit in units if unit.model is not None})
    scopes: list[tuple[str, Callable[[UnitCounts], bool]]] = [("", lambda unit: True)]
    if len(models) > 1:  # a sweep gates each model too: one model's drop must not hide
        scopes += [(f"[{m}]", lambda unit, m=m: unit.model == m) for m in models]  # type: ignore[misc]
    for suffix, keep in scopes:
        now = _rate([u for u in units if keep(u)], excluded)
        before = _rate([u for u in base if keep(u)], excluded) if base is not None else None
        if regression.min_pass_rate is not None and now is not None:
            checks.append(
                Check(
                    f"min_pass_rate{suffix}",
                    now >= regression.min_pass_rate,
                    now,
                    regression.min_pass_rate,
                    before,
                )
            )
        if regression.max_pass_rate_drop is not None and now is not None and before is not None:
            drop = before - now
            checks.append(
                Check(
                    f"max_pass_rate_drop{suffix}",
                    drop <= regression.max_pass_rate_drop + 1e-12,
                    drop,
                    regression.max_pass_rate_drop,
                    before,
                    f"pass rate {before:.3f} -> {now:.3f}",
                )
            )
    return checks


def _wall_checks(base_rows: Sequence[CaseRow], wall: WallStats, policy: Policy) -> list[Check]:
    checks = []
    regression = policy.regression
    for name, limit, p95 in (
        ("max_avg_wall_ms_delta_pct", regression.max_avg_wall_ms_delta_pct, False),
        ("max_p95_wall_ms_delta_pct", regression.max_p95_wall_ms_delta_pct, True),
    ):
        if limit is None:
            continue
        before_stats = WallStats.of((r.wall_ms for r in base_rows), policy).values
        before_ms = before_stats.percentile(0.95) if p95 else before_stats.mean()
        now_ms = wall.values.percentile(0.95) if p95 else wall.values.mean()
        # Skipped when the baseline is 0, as RunLedger does.
        if not before_ms or now_ms is None:
            continue
        delta = (now_ms - before_ms) / before_ms
        checks.append(
            Check(
                name,
                delta <= limit,
                delta,
                limit,
                before_ms,
                f"wall_ms {before_ms:.0f} -> {now_ms:.0f}",
            )
        )
    return checks


def _rate(units: Sequence[UnitCounts], excluded: set[str]) -> float | None:
    counted = passed = 0
    for unit in units:
        if unit.case_id not in excluded:
            counted += unit.counted
            passed += unit.passed
    return passed / counted if counted else None


# (pairs, worse, better) of one unit's paired trials: all the sign test reads of them.
Flips = tuple[int, int, int]


def paired_test_check(
    flips: Mapping[Unit, Flips], excluded: set[str], significance: Significance
) -> tuple[dict[str, Any], Check]:
    """The suite-wide sign test over every tested unit's flips (at alpha itself, while each
    unit's own test has its Bonferroni share): summary.json's `paired_test`, and its check."""
    # Only the counts of flips matter to the sign test, so they are summed per unit.
    pairs = worse = better = 0
    for unit, (n, w, b) in flips.items():
        if unit[0] not in excluded:
            pairs, worse, better = pairs + n, worse + w, better + b
    test = paired_drop(_flips(pairs, worse, better))
    significant = test.p_value < significance.alpha and test.drop > significance.min_drop
    summary = {
        **vars(test),
        "alpha": significance.alpha,
        "min_drop": significance.min_drop,
        "significant": significant,
    }
    check = Check(
        "paired_test",
        not significant,
        test.drop,
        significance.min_drop,
        message=f"one-sided exact sign test p={test.p_value:.4g}",
    )
    return summary, check


def _flips(pairs: int, worse: int, better: int) -> Iterator[tuple[bool, bool]]:
    """Pairs with these counts (`paired_drop` reads only the counts)."""
    yield from itertools.repeat((True, False), worse)
    yield from itertools.repeat((False, True), better)
    yield from itertools.repeat((True, True), pairs - worse - better)
