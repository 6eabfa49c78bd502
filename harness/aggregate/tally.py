"""What the end of a run needs from its results, gathered as each is appended to results.jsonl:
the counts its exit code is decided from (harness.execute.finish), summary.json's and the sweep's
aggregates, where each result sits in the file (ResultIndex), and the first failures for the
console.

It grows with cases x models (and one byte or so a planned attempt), never with the results
themselves: those stay on disk and every end-of-run report streams them back from there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from harness.aggregate.result_index import ResultIndex
from harness.aggregate.streaming import Reread
from harness.aggregate.summary import SummaryTally
from harness.grading.engine import GRADER_ERROR
from harness.plan.build import Plan
from harness.results import PASS, UNGRADED, AttemptResult
from harness.storage.runs import iter_fields, iter_results

if TYPE_CHECKING:
    from harness.aggregate.sweep import SweepTally

FAILED_KEPT = 30  # failed attempts kept for the console's table of failures


class _Metrics(msgspec.Struct):
    """The fields of a results.jsonl line that percentiles read again (AttemptResult's names
    and defaults): decoding only these is several times faster."""

    wall_ms: int
    tool_calls: int = 0
    tool_errors: int = 0
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: float | None = None
    steps: int = 0
    model: str | None = None


class RunTally:
    """Fed by `add(result, offset)` for every result, in the order they are appended."""

    def __init__(self, plan: Plan, results_path: Path | None = None) -> None:
        self.results_path = results_path
        self.index = ResultIndex(plan, results_path)
        reread = results_path is not None
        self.summary = SummaryTally(self.metric if reread else None)
        self.sweep: SweepTally | None = None
        if plan.sweep:  # only sweeps load the statistics (aggregate.stats, fractions)
            # lazy: only sweeps load the statistics (aggregate.stats, fractions)
            from harness.aggregate.sweep import SweepTally

            self.sweep = SweepTally(plan, self.model_wall_ms if reread else None)
        self.statuses: Counter[str] = Counter()
        self.unit_sizes: Counter[tuple[str, str | None]] = Counter()  # results a (case, model)
        self.grader_error = False
        self.failed: list[AttemptResult] = []  # the first FAILED_KEPT neither passed nor ungraded
        self.failed_count = 0

    def add(self, result: AttemptResult, offset: int) -> None:
        self.index.add(result, offset)
        self.summary.add(result)
        if self.sweep is not None:
            self.sweep.add(result)
        self.statuses[result.status] += 1
        self.unit_sizes[(result.case_id, result.model)] += 1
        self.grader_error = self.grader_error or any(
            failure.type == GRADER_ERROR for failure in result.failures
        )
        if result.status not in (PASS, UNGRADED):
            self.failed_count += 1
            if len(self.failed) < FAILED_KEPT:
                self.failed.append(result)

    @property
    def total(self) -> int:
        return self.index.final

    def metric(self, name: str) -> Reread:
        """Every result's value of one metric, read again from results.jsonl when asked."""

        def values() -> Iterator[float | None]:
            return (getattr(m, name) for m in self._metrics())

        return values

    def model_wall_ms(self, model: str | None) -> Reread:
        def values() -> Iterator[float | None]:
            return (m.wall_ms for m in self._metrics() if m.model == model)

        return values

    def wall_ms_as_rows(self) -> Iterator[float | None]:
        """wall_ms as the gate's rows hold it (a float)."""
        return (float(m.wall_ms) for m in self._metrics())

    def _metrics(self) -> Iterator[_Metrics]:
        if self.results_path is None:
            return iter(())
        return iter_fields(self.results_path, _Metrics, missing_ok=True)

    def results(self) -> Iterator[AttemptResult]:
        """Every result, in the order they finished, read back one at a time."""
        if self.results_path is None:
            return iter(())
        return iter_results(self.results_path, missing_ok=True)
