"""The regression gate: case rows of a run (and of a baseline) -> checks, verdicts, pass/fail.

Pure: no files, no clock. A run's end gates a fresh run with it, `harness diff` a stored one.
Each unit (a case on one model) gets its verdict in harness.gate.units; the suite-wide checks
are harness.gate.checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import msgspec

from harness.aggregate.streaming import Reread
from harness.gate.baseline import Baseline, CaseRow, index_rows
from harness.gate.checks import (
    Check,
    Flips,
    UnitCounts,
    WallStats,
    aggregate_checks,
    paired_test_check,
)
from harness.gate.policy import Policy, Unit, unit_order
from harness.gate.units import (
    BELOW_THRESHOLD,
    EXPECTED_FAILURE,
    METRIC_REGRESSION,
    MISSING,
    QUARANTINED,
    REGRESSED,
    UnitVerdict,
    case_diffs,
    judge_unit,
    missing_verdict,
    multi_trial,
    paired_drop,
    pairs_of,
)

__all__ = ["Check", "GateReport", "Policy", "Unit", "UnitVerdict", "evaluate", "evaluate_units"]


class GateReport(msgspec.Struct):
    passed: bool
    checks: list[Check]
    units: list[UnitVerdict]
    case_diffs: dict[str, Any]
    baseline: dict[str, Any] | None = None
    paired_test: dict[str, Any] | None = None
    warnings: list[str] = msgspec.field(default_factory=list)

    @property
    def regressions(self) -> list[UnitVerdict]:
        return [unit for unit in self.units if unit.gating]

    @property
    def reason_code(self) -> str:
        if self.passed:
            return "all_passed"
        regressed = {REGRESSED, METRIC_REGRESSION, BELOW_THRESHOLD}
        if any(u.verdict in regressed for u in self.regressions) or self.failed_checks:
            return "regression"
        return "cases_failed"

    @property
    def failed_checks(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "baseline": self.baseline,
            "checks": [msgspec.structs.asdict(check) for check in self.checks],
            "cases": [msgspec.structs.asdict(unit) for unit in self.units],
            "case_diffs": self.case_diffs,
            "paired_test": self.paired_test,
            "warnings": self.warnings,
        }


def evaluate(rows: Sequence[CaseRow], baseline: Baseline | None, policy: Policy) -> GateReport:
    """Gate `rows` (this run) against `baseline` (optional) under `policy`."""
    current = index_rows(rows)
    units = ((unit, current[unit]) for unit in sorted(current, key=unit_order))
    sizes = {unit: len(trials) for unit, trials in current.items()}
    wall = WallStats.of([row.wall_ms for row in rows], policy)
    return evaluate_units(units, sizes, baseline, policy, wall=wall)


class _Judged(NamedTuple):
    """The units of a run, judged one at a time: what the report keeps of them."""

    verdicts: list[UnitVerdict]
    counts: list[UnitCounts]
    flips: dict[Unit, Flips]  # paired test counts of the tested units


def evaluate_units(
    units: Iterable[tuple[Unit, Sequence[CaseRow]]],
    sizes: Mapping[Unit, int],
    baseline: Baseline | None,
    policy: Policy,
    *,
    wall: WallStats | None = None,
    wall_values: Reread | None = None,
) -> GateReport:
    """`evaluate` over a run's rows given one unit at a time, so a sweep is gated without all
    its rows in memory.

    Args:
        units: (unit, its rows in trial order), units sorted by (case id, model or "").
        sizes: rows per unit, known before the first unit is judged (the Bonferroni split).
        wall: the run's wall_ms values; by default gathered from `units` as they pass.
        wall_values: every row's wall_ms again, in any order: a p95 of many distinct values
            reads them again instead of counting each (see ValueTally).
    """
    base = index_rows(baseline.rows) if baseline is not None else {}
    significance = policy.regression.significance
    tested = [u for u in sizes if u in base and (sizes[u] > 1 or len(base[u]) > 1)]
    # Bonferroni: each case's paired test at alpha / cases tested, so many cases do not
    # multiply the false alarms; the suite-wide test uses alpha itself.
    unit_alpha = significance.alpha / max(len(tested), 1) if significance else None
    gather = wall is None
    stats = WallStats(policy, wall_values) if wall is None else wall
    judged = _judge_units(
        units, base, policy, baseline is not None, unit_alpha, stats if gather else None
    )
    verdicts = judged.verdicts + [
        missing_verdict(unit, base[unit])
        for unit in sorted(base.keys() - set(sizes), key=unit_order)
    ]
    excluded = {u.case_id for u in verdicts if u.verdict in (QUARANTINED, EXPECTED_FAILURE)}
    excluded |= policy.quarantine | set(policy.regression.expected_failures)
    base_counts = [UnitCounts.of(unit, rows) for unit, rows in base.items()]
    checks = aggregate_checks(judged.counts, base_counts, baseline, stats, policy, excluded)
    if baseline is None:
        return _report(checks, verdicts, {})
    current = {(u.case_id, u.model): u.current for u in verdicts if u.verdict != MISSING}
    warnings = []
    if str(baseline.schema_version) != "1":
        warnings.append(f"baseline schema_version {baseline.schema_version!r} != 1")
    paired_test = None
    if significance is not None and tested:
        paired_test, check = paired_test_check(judged.flips, excluded, significance)
        checks.append(check)
    return _report(
        checks,
        verdicts,
        case_diffs(current, base),
        baseline={"path": str(baseline.path), "run_id": baseline.run_id},
        paired_test=paired_test,
        warnings=warnings,
    )


def _report(
    checks: list[Check],
    verdicts: list[UnitVerdict],
    diffs: dict[str, Any],
    **baseline_parts: Any,
) -> GateReport:
    passed = all(c.passed for c in checks) and not any(u.gating for u in verdicts)
    return GateReport(passed, checks, verdicts, diffs, **baseline_parts)


def _judge_units(
    units: Iterable[tuple[Unit, Sequence[CaseRow]]],
    base: dict[Unit, list[CaseRow]],
    policy: Policy,
    has_baseline: bool,
    unit_alpha: float | None,
    wall: WallStats | None,
) -> _Judged:
    """Each unit's verdict, counts and paired flips; `wall` gathers the wall times if given."""
    significance = policy.regression.significance
    judged = _Judged([], [], {})
    for unit, given in units:
        rows = list(given)
        before = base.get(unit, [])
        judged.verdicts.append(judge_unit(unit, rows, before, policy, has_baseline, unit_alpha))
        judged.counts.append(UnitCounts.of(unit, rows))
        if wall is not None:
            for row in rows:
                wall.add(row.wall_ms)
        if significance is not None and unit in base and multi_trial(rows, before):
            test = paired_drop(pairs_of(before, rows))
            judged.flips[unit] = (test.pairs, test.worse, test.better)
    return judged
