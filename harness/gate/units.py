"""One unit's verdict: a case on one model, its trials now against its trials in the baseline.

Pure: rows in, a `UnitVerdict` out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from harness.config.schema import MetricGate
from harness.gate.baseline import CaseRow
from harness.gate.policy import Policy, Unit

if TYPE_CHECKING:
    from harness.gate.paired import PairedTest

# Verdicts. Gating ones fail the run unless the case is quarantined.
PASS = "pass"
NEW = "new"  # passes, and the baseline has no such case: reported, so it is not gated unseen
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

GATING = frozenset(
    {REGRESSED, NEW_FAILURE, FAILED, STILL_FAILING, BELOW_THRESHOLD, METRIC_REGRESSION}
)
METRICS = ("wall_ms", "tool_calls", "tool_errors", "tokens_in", "tokens_out", "cost_usd", "steps")


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


def judge_unit(
    unit: Unit,
    current: list[CaseRow],
    base: list[CaseRow],
    policy: Policy,
    has_baseline: bool,
    unit_alpha: float | None,
) -> UnitVerdict:
    """The verdict of one unit (its rows now, its rows in the baseline, in trial order)."""
    case_id, model = unit
    verdict = UnitVerdict(
        case_id, model, PASS, False, tally_of(current), tally_of(base) if base else None
    )
    verdict.current_metrics = {name: _mean(current, name) for name in METRICS}
    verdict.baseline_metrics = {name: _mean(base, name) for name in METRICS} if base else {}
    reasons = sorted({row.failure_reason for row in current if row.failure_reason})
    verdict.detail = ", ".join(reasons)
    verdict.verdict, verdict.p_value = _outcome(
        unit, current, base, policy, has_baseline, unit_alpha
    )
    if base and policy.regression.metrics is not None and verdict.verdict in (PASS, FIXED, FLAKY):
        verdict.metric_regressions = _metric_regressions(policy, base, current)
        if verdict.metric_regressions:
            verdict.verdict = METRIC_REGRESSION
            verdict.detail = "; ".join(m["message"] for m in verdict.metric_regressions)
    if case_id in policy.quarantine and verdict.verdict in GATING:
        verdict.detail = f"{verdict.verdict}: {verdict.detail}".rstrip(": ")
        verdict.verdict = QUARANTINED
    verdict.gating = verdict.verdict in GATING and (
        policy.regression.per_case or verdict.verdict in (METRIC_REGRESSION, BELOW_THRESHOLD)
    )
    return verdict


def _outcome(
    unit: Unit,
    current: list[CaseRow],
    base: list[CaseRow],
    policy: Policy,
    has_baseline: bool,
    unit_alpha: float | None,
) -> tuple[str, float | None]:
    """The verdict by pass counts (and the paired test's p-value, when one ran)."""
    case_id = unit[0]
    threshold = policy.case_pass_rate(case_id)
    ok_now = passes(current, threshold)
    expected = case_id in policy.regression.expected_failures
    significance = policy.regression.significance
    if base and significance is not None and unit_alpha is not None and multi_trial(current, base):
        test = paired_drop(pairs_of(base, current))
        significant = test.p_value < unit_alpha and test.drop > significance.min_drop
        if threshold is not None and not ok_now:
            return BELOW_THRESHOLD, test.p_value
        if significant:
            return REGRESSED, test.p_value
        if not ok_now:
            return (EXPECTED_FAILURE if expected else NOT_SIGNIFICANT), test.p_value
        return PASS, test.p_value
    if ok_now:
        if any(row.flaky for row in current):
            return FLAKY, None
        if expected:
            return UNEXPECTED_PASS, None
        if base and not passes(base, threshold):
            return FIXED, None
        return (NEW if has_baseline and not base else PASS), None
    if (
        threshold is not None
        and (not base or passes(base, threshold))
        and multi_trial(current, base)
    ):
        return BELOW_THRESHOLD, None
    if not base:
        return (EXPECTED_FAILURE if expected else NEW_FAILURE if has_baseline else FAILED), None
    if passes(base, threshold):
        return REGRESSED, None
    return (EXPECTED_FAILURE if expected else STILL_FAILING), None


def missing_verdict(unit: Unit, base: Sequence[CaseRow]) -> UnitVerdict:
    """A unit of the baseline that did not run now."""
    return UnitVerdict(unit[0], unit[1], MISSING, False, "-", tally_of(base))


def multi_trial(current: Sequence[CaseRow], base: Sequence[CaseRow]) -> bool:
    return len(current) > 1 or len(base) > 1


def tally_of(rows: Sequence[CaseRow]) -> str:
    """A unit's result as the reports show it: its status, or `passed/trials`."""
    if len(rows) == 1:
        return rows[0].status
    return f"{sum(row.passed for row in rows)}/{len(rows)}"


def passes(rows: Sequence[CaseRow], threshold: float | None) -> bool:
    counted = [row for row in rows if row.status != "skipped"]
    if not counted:
        return True
    passed = sum(row.passed for row in counted)
    return passed / len(counted) >= threshold if threshold is not None else passed == len(counted)


def pairs_of(base: Sequence[CaseRow], current: Sequence[CaseRow]) -> list[tuple[bool, bool]]:
    """Trials paired by trial number when both sides have them, else by position."""
    by_trial = {row.trial: row for row in base}
    if all(row.trial is not None for row in current) and all(r.trial in by_trial for r in current):
        return [(by_trial[row.trial].passed, row.passed) for row in current]
    return [(b.passed, c.passed) for b, c in zip(base, current, strict=False)]


def paired_drop(pairs: Iterable[tuple[bool, bool]]) -> PairedTest:
    # Imported here: only a gate with a baseline and `significance:` runs the paired test.
    from harness.gate.paired import paired_drop as sign_test

    return sign_test(pairs)


def case_diffs(current: dict[Unit, str], base: dict[Unit, list[CaseRow]]) -> dict[str, Any]:
    """RunLedger's case_diffs, keyed by case id (+ model in sweeps)."""

    def name(unit: Unit) -> str:
        return unit[0] if unit[1] is None else f"{unit[0]} [{unit[1]}]"

    changed = [
        {"id": unit[0], "model": unit[1], "baseline": tally_of(base[unit]), "current": tally}
        for unit, tally in sorted(current.items(), key=lambda item: name(item[0]))
        if unit in base and tally_of(base[unit]) != tally
    ]
    return {
        "missing_in_current": sorted(name(u) for u in base.keys() - current.keys()),
        "new_in_current": sorted(name(u) for u in current.keys() - base.keys()),
        "status_changed": changed,
    }


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
