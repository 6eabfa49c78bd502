"""The counts and metrics of summary.json's `aggregates`, gathered one result at a time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.aggregate.streaming import Reread, ValueTally
from harness.results import ERROR, FAIL, PASS, AttemptResult

METRICS = ("wall_ms", "tool_calls", "tool_errors", "tokens_in", "tokens_out", "cost_usd", "steps")


class SummaryTally:
    """The counts and metrics of summary.json's `aggregates`, fed one result at a time."""

    def __init__(self, reread: Callable[[str], Reread] | None = None) -> None:
        """`reread(name)`: every value of that metric again (see ValueTally)."""
        self.total = 0
        self.counts = {PASS: 0, FAIL: 0, ERROR: 0}
        self.metrics = {
            name: ValueTally(reread=reread(name) if reread else None) for name in METRICS
        }

    def add(self, result: AttemptResult) -> None:
        self.total += 1
        if result.status in self.counts:
            self.counts[result.status] += 1
        for name, tally in self.metrics.items():
            tally.add(getattr(result, name))

    def aggregates(self) -> dict[str, Any]:
        """summary.json's `aggregates`."""
        total, counts = self.total, self.counts
        return {
            "cases_total": total,
            "cases_pass": counts[PASS],
            "cases_fail": counts[FAIL],
            "cases_error": counts[ERROR],
            "pass_rate": counts[PASS] / total if total else 0.0,
            "metrics": {name: tally.summary() for name, tally in self.metrics.items()},
        }
