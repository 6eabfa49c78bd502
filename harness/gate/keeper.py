"""The gate of a fresh run: its summary rows, streamed, against the baseline under the suite's
policy (flaky cases from the history quarantined too). Returns a verdict; mutates nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import msgspec

from harness.aggregate.streaming import Reread
from harness.config.schema import Regression, Suite
from harness.gate.baseline import Baseline, CaseRow
from harness.gate.evaluate import GateReport, evaluate_units
from harness.gate.policy import Policy, Unit


class GateVerdict(msgspec.Struct, frozen=True):
    """What the gate said: its report, and summary.json's `regression` and `policy_snapshot`."""

    report: GateReport
    regression: dict[str, Any]
    policy_snapshot: dict[str, Any]


class Gatekeeper(msgspec.Struct, frozen=True):
    """Judges a finished run: its baseline (if any), its policy, the cases the history found
    flaky (`--quarantine-flaky`), reported by id with why."""

    policy: Policy
    baseline: Baseline | None = None
    flaky: dict[str, str] = msgspec.field(default_factory=dict)

    @classmethod
    def for_suite(
        cls, suite: Suite, baseline: Baseline | None, flaky: dict[str, str]
    ) -> Gatekeeper:
        policy = Policy(suite.regression or Regression(), suite.quarantine | frozenset(flaky))
        return cls(policy, baseline, flaky)

    def judge(
        self,
        rows: Iterable[dict[str, Any]],
        sizes: Mapping[Unit, int],
        wall_values: Reread | None = None,
    ) -> GateVerdict:
        """Gate the run's rows.

        `rows` are summary.json's rows (annotated, in order), streamed: the units are judged
        one at a time; `sizes` is how many rows each (case, model) has; `wall_values` reads
        their wall_ms again (see ValueTally).
        """
        report = evaluate_units(
            _units(rows), sizes, self.baseline, self.policy, wall_values=wall_values
        )
        extra: dict[str, Any] = {}
        if self.baseline is not None:
            extra["baseline_aggregates"] = _baseline_aggregates(self.baseline)
        if self.flaky:
            extra["flaky_quarantined"] = self.flaky
        return GateVerdict(report, {**report.to_json(), **extra}, self.policy.snapshot())


def _units(rows: Iterable[dict[str, Any]]) -> Iterator[tuple[Unit, list[CaseRow]]]:
    """Rows grouped by (case id, model), trials in order, as index_rows groups a list."""
    parsed = (msgspec.convert(row, CaseRow) for row in rows)
    for unit, group in itertools.groupby(parsed, key=lambda row: row.unit):
        trials = list(group)
        trials.sort(key=lambda row: row.trial if row.trial is not None else -1)
        yield unit, trials


def _baseline_aggregates(baseline: Baseline) -> dict[str, Any]:
    rows = baseline.rows
    passed = sum(row.passed for row in rows)
    return {
        "cases_total": len(rows),
        "cases_pass": passed,
        "cases_fail": sum(row.status == "fail" for row in rows),
        "cases_error": sum(row.status == "error" for row in rows),
        "pass_rate": passed / len(rows) if rows else None,
    }
