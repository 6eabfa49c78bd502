"""The regression gate: case rows of a run (and of a baseline) -> checks, verdicts, pass/fail.

Pure: no files, no clock. `run.py` gates a fresh run with it, `harness diff` a stored one.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from harness.aggregate.streaming import Reread, ValueTally
from harness.config.schema import MetricGate, Regression
from harness.gate.baseline import Baseline, CaseRow, index_rows

if TYPE_CHECKING:
    from harness.gate.paired import PairedTest

Unit = tuple[str, str | None]

# Verdicts. Gating ones fail the run unless the case is quarantined.
PASS = "pass"
FIXED = "fixed"  # failed in the baseline, passes now
FLAKY = "flaky"  # passed only on a re-run
UNEXPECTED_PASS = "unexpected_pass"  # marked as an expected failure, passes now
REGRESSED = "regressed"  # passed in the baseline, fails now
NEW_FAILURE = "new_failure"  # fails, and the baseline has no such case
FAILED = "failed"  # fails, and there is no baseline
STILL_FAILING = "still_failing"  # failed in the baseline too, not marked expected
EXPECTED_FAILURE = "expected_failure"
BELOW_THRESHOLD = "below_threshold"  # passed fewer trials than its repeat threshold
METRIC_REGRESSION = "metric_regression"
NOT_SIGNIFICANT = "not_significant"  # fewer trials passed, within noise (paired test)
QUARANTINED = "quarantined"
MISSING = "missing"  # in the baseline, not run now

METRICS = ("wall_ms", "tool_calls", "tool_errors", "tokens_in", "tokens_out", "cost_usd", "steps")


# The gate's records are msgspec Structs, not dataclasses: ~50x cheaper to define, and every
# run defines them before its first agent starts.
class Policy(msgspec.Struct, frozen=True):
    """What gates: the suite's `regression:` settings plus quarantined case ids."""

    regression: Regression = msgspec.field(default_factory=Regression)
    quarantine: frozenset[str] = frozenset()

    def case_pass_rate(self, case_id: str) -> float | None:
        return self.regression.case_pass_rates.get(case_id, self.regression.min_case_pass_rate)

    def snapshot(self) -> dict[str, Any]:
        """RunLedger's `policy_snapshot`, plus ours; `harness diff` gates with it later."""
        return {
            "thresholds": {"min_pass_rate": self.regression.min_pass_rate},
            "regression": msgspec.to_builtins(self.regression),
            "quarantine": sorted(self.quarantine),
        }

    @classmethod
    def from_snapshot(cls, snapshot: Any) -> Policy:
        if not isinstance(snapshot, dict):
            return cls()
        regression = msgspec.convert(snapshot.get("regression") or {}, Regression)
        return cls(regression=regression, quarantine=frozenset(snapshot.get("quarantine") or ()))


class Check(msgspec.Struct):
    name: str
    passed: bool
    value: float | None
    limit: float | None
    baseline: float | None = None
    message: str = ""


class UnitVerdict(msgspec.Struct):
    case_id: str
    model: str | None
    verdict: str
    gating: bool
    current: str
    baseline: str | None = None
    detail: str = ""
    p_value: float | None = None
    metric_regressions: list[dict[str, Any]] = msgspec.field(default_factory=list)
    current_metrics: dict[str, float | None] = msgspec.field(default_factory=dict)
    baseline_metrics: dict[str, float | None] = msgspec.field(default_factory=dict)


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
    units = ((unit, current[unit]) for unit in sorted(current, key=_unit_order))
    sizes = {unit: len(trials) for unit, trials in current.items()}
    wall = _WallStats.of([row.wall_ms for row in rows], policy)
    return evaluate_units(units, sizes, baseline, policy, wall=wall)


def evaluate_units(
    units: Iterable[tuple[Unit, Sequence[CaseRow]]],
    sizes: Mapping[Unit, int],
    baseline: Baseline | None,
    policy: Policy,
    *,
    wall: _WallStats | None = None,
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
    # multiply the false alarms; the suite-wide test below uses alpha itself.
    unit_alpha = significance.alpha / max(len(tested), 1) if significance else None
    gather = wall is None
    wall = wall or _WallStats(policy, wall_values)
    verdicts: list[UnitVerdict] = []
    counts: list[_UnitCounts] = []
    flips: dict[Unit, tuple[int, int, int]] = {}  # paired test counts of the tested units
    for unit, given in units:
        rows = list(given)
        verdicts.append(
            _judge(unit, rows, base.get(unit, []), policy, baseline is not None, unit_alpha)
        )
        counts.append(_UnitCounts.of(unit, rows))
        if gather:
            for row in rows:
                wall.add(row.wall_ms)
        if significance is not None and unit in base and _multi(rows, base[unit]):
            test = _paired_drop(_pairs(base[unit], rows))
            flips[unit] = (test.pairs, test.worse, test.better)
    verdicts += [
        UnitVerdict(case_id, model, MISSING, False, "-", _tally(base[(case_id, model)]))
        for case_id, model in sorted(base.keys() - set(sizes), key=_unit_order)
    ]
    excluded = {u.case_id for u in verdicts if u.verdict in (QUARANTINED, EXPECTED_FAILURE)}
    excluded |= policy.quarantine | set(policy.regression.expected_failures)
    base_counts = [_UnitCounts.of(unit, rows) for unit, rows in base.items()]
    checks = _aggregate_checks(counts, base_counts, baseline, wall, policy, excluded)
    current_tallies = {(u.case_id, u.model): u.current for u in verdicts if u.verdict != MISSING}
    report = GateReport(
        passed=False,
        checks=checks,
        units=verdicts,
        case_diffs=_case_diffs(current_tallies, base) if baseline is not None else {},
    )
    if baseline is not None:
        report.baseline = {"path": str(baseline.path), "run_id": baseline.run_id}
        if str(baseline.schema_version) != "1":
            report.warnings.append(f"baseline schema_version {baseline.schema_version!r} != 1")
        if significance is not None and tested:
            # Only the counts of flips matter to the sign test, so they are summed per unit.
            pairs = worse = better = 0
            for unit, (n, w, b) in flips.items():
                if unit[0] not in excluded:
                    pairs, worse, better = pairs + n, worse + w, better + b
            test = _paired_drop(_flips(pairs, worse, better))
            significant = test.p_value < significance.alpha and test.drop > significance.min_drop
            report.paired_test = {
                **vars(test),
                "alpha": significance.alpha,
                "min_drop": significance.min_drop,
                "significant": significant,
            }
            checks.append(
                Check(
                    "paired_test",
                    not significant,
                    test.drop,
                    significance.min_drop,
                    message=f"one-sided exact sign test p={test.p_value:.4g}",
                )
            )
    report.passed = all(c.passed for c in checks) and not report.regressions
    return report


def _unit_order(unit: Unit) -> tuple[str, str]:
    return (unit[0], unit[1] or "")


def _flips(pairs: int, worse: int, better: int) -> Iterator[tuple[bool, bool]]:
    """Pairs with these counts (`paired_drop` reads only the counts)."""
    yield from itertools.repeat((True, False), worse)
    yield from itertools.repeat((False, True), better)
    yield from itertools.repeat((True, True), pairs - worse - better)


class _UnitCounts(msgspec.Struct, frozen=True):
    """What the aggregate checks need of a unit: its counted trials and passes."""

    case_id: str
    model: str | None
    counted: int
    passed: int

    @classmethod
    def of(cls, unit: Unit, rows: Iterable[CaseRow]) -> _UnitCounts:
        counted = passed = 0
        for row in rows:
            if row.status != "skipped":
                counted += 1
                passed += row.passed
        return cls(unit[0], unit[1], counted, passed)


class _WallStats:
    """Mean and p95 of wall_ms over a run's rows, in the rows' order (see ValueTally)."""

    def __init__(self, policy: Policy, reread: Reread | None = None) -> None:
        # The distribution only when a p95 check is configured.
        p95 = policy.regression.max_p95_wall_ms_delta_pct is not None
        self.values = ValueTally(percentiles=p95, reread=reread if p95 else None)

    @classmethod
    def of(cls, values: Iterable[float | None], policy: Policy) -> _WallStats:
        stats = cls(policy)
        for value in values:
            stats.add(value)
        return stats

    def add(self, value: float | None) -> None:
        self.values.add(value)


def _multi(current: list[CaseRow], base: list[CaseRow]) -> bool:
    return len(current) > 1 or len(base) > 1


def _tally(rows: Sequence[CaseRow]) -> str:
    if len(rows) == 1:
        return rows[0].status
    return f"{sum(row.passed for row in rows)}/{len(rows)}"


def _ok(rows: Sequence[CaseRow], threshold: float | None) -> bool:
    counted = [row for row in rows if row.status != "skipped"]
    if not counted:
        return True
    passed = sum(row.passed for row in counted)
    return passed / len(counted) >= threshold if threshold is not None else passed == len(counted)


def _pairs(base: list[CaseRow], current: list[CaseRow]) -> list[tuple[bool, bool]]:
    """Trials paired by trial number when both sides have them, else by position."""
    by_trial = {row.trial: row for row in base}
    if all(row.trial is not None for row in current) and all(r.trial in by_trial for r in current):
        return [(by_trial[row.trial].passed, row.passed) for row in current]
    return [(b.passed, c.passed) for b, c in zip(base, current, strict=False)]


def _paired_drop(pairs: Iterable[tuple[bool, bool]]) -> PairedTest:
    # Imported here: only a gate with a baseline and `significance:` runs the paired test.
    from harness.gate.paired import paired_drop

    return paired_drop(pairs)


def _judge(
    unit: Unit,
    current: list[CaseRow],
    base: list[CaseRow],
    policy: Policy,
    has_baseline: bool,
    unit_alpha: float | None,
) -> UnitVerdict:
    case_id, model = unit
    threshold = policy.case_pass_rate(case_id)
    ok_now = _ok(current, threshold)
    verdict = UnitVerdict(
        case_id, model, PASS, False, _tally(current), _tally(base) if base else None
    )
    verdict.current_metrics = {name: _mean(current, name) for name in METRICS}
    verdict.baseline_metrics = {name: _mean(base, name) for name in METRICS} if base else {}
    expected = case_id in policy.regression.expected_failures
    reasons = sorted({row.failure_reason for row in current if row.failure_reason})
    verdict.detail = ", ".join(reasons)
    significance = policy.regression.significance
    if base and significance is not None and unit_alpha is not None and _multi(current, base):
        test = _paired_drop(_pairs(base, current))
        verdict.p_value = test.p_value
        significant = test.p_value < unit_alpha and test.drop > significance.min_drop
        if threshold is not None and not ok_now:
            verdict.verdict = BELOW_THRESHOLD
        elif significant:
            verdict.verdict = REGRESSED
        elif not ok_now:
            verdict.verdict = EXPECTED_FAILURE if expected else NOT_SIGNIFICANT
    elif ok_now:
        if any(row.flaky for row in current):
            verdict.verdict = FLAKY
        elif expected:
            verdict.verdict = UNEXPECTED_PASS
        elif base and not _ok(base, threshold):
            verdict.verdict = FIXED
    elif threshold is not None and (not base or _ok(base, threshold)) and _multi(current, base):
        verdict.verdict = BELOW_THRESHOLD
    elif not base:
        verdict.verdict = EXPECTED_FAILURE if expected else NEW_FAILURE if has_baseline else FAILED
    elif _ok(base, threshold):
        verdict.verdict = REGRESSED
    else:
        verdict.verdict = EXPECTED_FAILURE if expected else STILL_FAILING
    if base and policy.regression.metrics is not None and verdict.verdict in (PASS, FIXED, FLAKY):
        verdict.metric_regressions = _metric_regressions(policy, base, current)
        if verdict.metric_regressions:
            verdict.verdict = METRIC_REGRESSION
            verdict.detail = "; ".join(m["message"] for m in verdict.metric_regressions)
    gating = {REGRESSED, NEW_FAILURE, FAILED, STILL_FAILING, BELOW_THRESHOLD, METRIC_REGRESSION}
    if case_id in policy.quarantine and verdict.verdict in gating:
        verdict.detail = f"{verdict.verdict}: {verdict.detail}".rstrip(": ")
        verdict.verdict = QUARANTINED
    verdict.gating = verdict.verdict in gating and (
        policy.regression.per_case or verdict.verdict in (METRIC_REGRESSION, BELOW_THRESHOLD)
    )
    return verdict


def _mean(rows: Sequence[CaseRow], metric: str) -> float | None:
    values = [getattr(row, metric) for row in rows if getattr(row, metric) is not None]
    return sum(values) / len(values) if values else None


def _metric_regressions(
    policy: Policy, base: list[CaseRow], current: list[CaseRow]
) -> list[dict[str, Any]]:
    found = []
    gates = policy.regression.metrics
    for metric in type(gates).__struct_fields__ if gates is not None else ():
        gate: MetricGate | None = getattr(gates, metric)
        before, now = _mean(base, metric), _mean(current, metric)
        if gate is None or before is None or now is None:
            continue
        increase = now - before
        over = gate.max_increase is not None and increase > gate.max_increase
        # A zero baseline has no relative change (RunLedger's rule): only max_increase applies.
        if gate.max_increase_pct is not None and before > 0:
            over = over or increase / before > gate.max_increase_pct
        if over:
            found.append(
                {
                    "metric": metric,
                    "baseline": before,
                    "current": now,
                    "max_increase": gate.max_increase,
                    "max_increase_pct": gate.max_increase_pct,
                    "message": f"{metric} {_num(before)} -> {_num(now)}",
                }
            )
    return found


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.4g}"


def _rate(units: Sequence[_UnitCounts], excluded: set[str]) -> float | None:
    counted = passed = 0
    for unit in units:
        if unit.case_id not in excluded:
            counted += unit.counted
            passed += unit.passed
    return passed / counted if counted else None


def _aggregate_checks(
    units: Sequence[_UnitCounts],
    base: Sequence[_UnitCounts],
    baseline: Baseline | None,
    wall: _WallStats,
    policy: Policy,
    excluded: set[str],
) -> list[Check]:
    regression = policy.regression
    checks: list[Check] = []
    models = sorted({unit.model for unit in units if unit.model is not None})
    scopes: list[tuple[str, Callable[[_UnitCounts], bool]]] = [("", lambda unit: True)]
    if len(models) > 1:  # a sweep gates each model too: one model's drop must not hide
        scopes += [(f"[{m}]", lambda unit, m=m: unit.model == m) for m in models]  # type: ignore[misc]
    has_base = baseline is not None and bool(baseline.rows)
    for suffix, keep in scopes:
        now = _rate([u for u in units if keep(u)], excluded)
        before = _rate([u for u in base if keep(u)], excluded) if has_base else None
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
    base_rows = baseline.rows if baseline is not None else ()
    for name, limit, p95 in (
        ("max_avg_wall_ms_delta_pct", regression.max_avg_wall_ms_delta_pct, False),
        ("max_p95_wall_ms_delta_pct", regression.max_p95_wall_ms_delta_pct, True),
    ):
        if limit is None:
            continue
        before_stats = _WallStats.of((r.wall_ms for r in base_rows), policy).values
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


def _case_diffs(current: dict[Unit, str], base: dict[Unit, list[CaseRow]]) -> dict[str, Any]:
    """RunLedger's case_diffs, keyed by case id (+ model in sweeps)."""

    def name(unit: Unit) -> str:
        return unit[0] if unit[1] is None else f"{unit[0]} [{unit[1]}]"

    changed = [
        {"id": unit[0], "model": unit[1], "baseline": _tally(base[unit]), "current": tally}
        for unit, tally in sorted(current.items(), key=lambda item: name(item[0]))
        if unit in base and _tally(base[unit]) != tally
    ]
    return {
        "missing_in_current": sorted(name(u) for u in base.keys() - current.keys()),
        "new_in_current": sorted(name(u) for u in current.keys() - base.keys()),
        "status_changed": changed,
    }
