"""The gate's rules on case rows: per-case verdicts, RunLedger's checks, metric gates, sweeps,
repeat thresholds and the paired test for trials."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from harness.config.schema import MetricGate, MetricGates, Regression, Significance
from harness.gate.baseline import Baseline, CaseRow
from harness.gate.evaluate import Policy, evaluate


def rows(spec: str, **metrics: Any) -> list[CaseRow]:
    """'a:pass b:fail' -> rows; `a@m1/2:pass` for model m1 trial 2."""
    made = []
    for item in spec.split():
        key, status = item.split(":")
        case_id, _, rest = key.partition("@")
        model, _, trial = rest.partition("/")
        made.append(
            CaseRow(
                id=case_id, status=status, model=model or None,
                trial=int(trial) if trial else None, **metrics,
            )
        )  # fmt: skip
    return made


def baseline(found: list[CaseRow]) -> Baseline:
    return Baseline(Path("b.json"), "s", "r0", 1, tuple(found))


def verdicts(report: Any) -> dict[str, str]:
    return {
        unit.case_id + (f"@{unit.model}" if unit.model else ""): unit.verdict
        for unit in report.units
    }


def policy(**regression: Any) -> Policy:
    quarantine = frozenset(regression.pop("quarantine", ()))
    return Policy(Regression(**regression), quarantine)


def test_per_case_verdicts_against_a_baseline() -> None:
    before = baseline(rows("a:pass b:pass c:fail d:fail e:pass gone:pass"))
    now = rows("a:pass b:fail c:pass d:fail e:error new:fail")
    report = evaluate(now, before, policy(expected_failures=["d"]))
    assert verdicts(report) == {
        "a": "pass", "b": "regressed", "c": "fixed", "d": "expected_failure",
        "e": "regressed", "new": "new_failure", "gone": "missing",
    }  # fmt: skip
    assert not report.passed
    assert {unit.case_id for unit in report.regressions} == {"b", "e", "new"}
    assert report.reason_code == "regression"
    assert report.case_diffs == {
        "missing_in_current": ["gone"],
        "new_in_current": ["new"],
        "status_changed": [
            {"id": "b", "model": None, "baseline": "pass", "current": "fail"},
            {"id": "c", "model": None, "baseline": "fail", "current": "pass"},
            {"id": "e", "model": None, "baseline": "pass", "current": "error"},
        ],
    }


def test_expected_failure_does_not_excuse_a_regression() -> None:
    report = evaluate(rows("a:fail"), baseline(rows("a:pass")), policy(expected_failures=["a"]))
    assert verdicts(report) == {"a": "regressed"}
    assert not report.passed


def test_without_a_baseline_failures_gate_unless_expected_or_quarantined() -> None:
    report = evaluate(
        rows("a:fail b:fail c:fail"), None, policy(expected_failures=["b"], quarantine=["c"])
    )
    assert verdicts(report) == {"a": "failed", "b": "expected_failure", "c": "quarantined"}
    assert [unit.case_id for unit in report.regressions] == ["a"]
    assert report.reason_code == "cases_failed"
    quiet = evaluate(rows("b:fail c:fail"), None, policy(expected_failures=["b"], quarantine=["c"]))
    assert quiet.passed


def test_runledger_checks() -> None:
    before = baseline(rows("a:pass b:pass", wall_ms=100))
    now = rows("a:pass b:fail", wall_ms=130)
    report = evaluate(
        now, before,
        policy(min_pass_rate=0.5, max_avg_wall_ms_delta_pct=0.2, max_p95_wall_ms_delta_pct=0.5,
               per_case=False),
    )  # fmt: skip
    checks = {check.name: (check.passed, check.value) for check in report.checks}
    assert checks["min_pass_rate"] == (True, 0.5)
    assert checks["max_avg_wall_ms_delta_pct"][0] is False
    delta = checks["max_avg_wall_ms_delta_pct"][1]
    assert delta is not None and abs(delta - 0.3) < 1e-9
    assert checks["max_p95_wall_ms_delta_pct"][0] is True
    assert not report.regressions  # per_case: false -> only the aggregate checks gate
    assert not report.passed


def test_zero_baseline_wall_time_skips_the_delta_check() -> None:
    report = evaluate(
        rows("a:pass", wall_ms=5), baseline(rows("a:pass", wall_ms=0)),
        policy(max_avg_wall_ms_delta_pct=0.1),
    )  # fmt: skip
    assert report.checks == [] and report.passed


def test_metric_gates_absolute_and_relative() -> None:
    gates = MetricGates(
        tool_calls=MetricGate(max_increase=1), tokens_out=MetricGate(max_increase_pct=0.1)
    )
    before = baseline([CaseRow("a", "pass", tool_calls=2, tokens_out=100),
                       CaseRow("b", "pass", tool_calls=2, tokens_out=0)])  # fmt: skip
    now = [CaseRow("a", "pass", tool_calls=3, tokens_out=111),
           CaseRow("b", "pass", tool_calls=4, tokens_out=50)]  # fmt: skip
    report = evaluate(now, before, policy(metrics=gates))
    units = {unit.case_id: unit for unit in report.units}
    assert units["a"].verdict == "metric_regression"
    assert units["a"].detail == "tokens_out 100 -> 111"
    # A zero baseline has no relative change; the absolute gate still catches b.
    assert units["b"].detail == "tool_calls 2 -> 4"
    assert units["b"].current_metrics["tool_calls"] == 4


def test_sweeps_gate_every_model() -> None:
    before = baseline(rows("a@m1:pass b@m1:pass a@m2:pass b@m2:pass"))
    now = rows("a@m1:pass b@m1:pass a@m2:fail b@m2:pass")
    report = evaluate(
        now, before, policy(min_pass_rate=0.75, max_pass_rate_drop=0.3, per_case=False)
    )
    checks = {check.name: check.passed for check in report.checks}
    assert checks == {
        "min_pass_rate": True, "max_pass_rate_drop": True,
        "min_pass_rate[m1]": True, "max_pass_rate_drop[m1]": True,
        "min_pass_rate[m2]": False, "max_pass_rate_drop[m2]": False,
    }  # fmt: skip
    assert verdicts(report)["a@m2"] == "regressed"


def trials(case_id: str, passed: int, total: int) -> list[CaseRow]:
    return [CaseRow(case_id, "pass" if t < passed else "fail", trial=t + 1) for t in range(total)]


def test_repeat_threshold_per_case() -> None:
    now = trials("a", 8, 10) + trials("b", 7, 10) + trials("c", 4, 10)
    report = evaluate(now, None, policy(min_case_pass_rate=0.8, case_pass_rates={"c": 0.4}))
    assert verdicts(report) == {"a": "pass", "b": "below_threshold", "c": "pass"}
    assert report.units[1].current == "7/10"


def test_paired_test_fails_only_a_significant_drop() -> None:
    significance = Significance(alpha=0.05, min_drop=0.1)
    before = baseline(trials("big", 10, 10) + trials("small", 10, 10))
    now = trials("big", 2, 10) + trials("small", 9, 10)
    report = evaluate(now, before, policy(significance=significance))
    units = {unit.case_id: unit for unit in report.units}
    assert units["big"].verdict == "regressed"  # 8 of 8 flips bad: p = 1/256 < 0.05 / 2
    assert units["big"].p_value == 1 / 256
    assert units["small"].verdict == "not_significant" and not units["small"].gating
    assert report.paired_test is not None
    assert report.paired_test["worse"] == 9 and report.paired_test["significant"]
    assert not report.passed


def test_paired_test_passes_noise() -> None:
    before = baseline(trials("a", 6, 10))
    now = [CaseRow("a", "fail" if t in (0, 9) else "pass", trial=t + 1) for t in range(10)]
    report = evaluate(now, before, policy(significance=Significance()))
    assert report.passed, report.checks


def test_policy_snapshot_round_trips() -> None:
    original = policy(min_pass_rate=0.9, expected_failures=["x"], quarantine=["q"],
                      metrics=MetricGates(steps=MetricGate(max_increase=3)))  # fmt: skip
    snapshot = msgspec.json.decode(msgspec.json.encode(original.snapshot()))
    assert snapshot["thresholds"] == {"min_pass_rate": 0.9}
    assert Policy.from_snapshot(snapshot) == original
    assert Policy.from_snapshot(None) == Policy()
