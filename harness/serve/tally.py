"""A run's counts and its (case, model) cells, fed from results.jsonl as lines arrive.

`feed` reads only the bytes past what it has read before, so a live run costs its new lines on
each poll. Memory is one Cell per (case, model), never a list of results. If results.jsonl was
replaced (`harness grade` rewrites it), the tally starts over.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.aggregate.stats import pass_at_k, pass_hat_k, wilson_interval
from harness.results import INFRA_ERROR, PASS
from harness.serve.lines import Row, scan_rows

Group = tuple[str, str | None]


@dataclass(slots=True)
class Cell:
    """One (case, model): its attempts' counts and sums. Trials lost to infrastructure errors
    are no trials (they shrink n), as in the run's own statistics."""

    attempts: int = 0
    n: int = 0  # counted trials
    c: int = 0  # passed
    # Bit t set: trial t counted / passed (bit 0 for an attempt with no trial number). The
    # trials' order (flaky or unstable) and the pairs of a paired test come from these.
    counted_mask: int = 0
    passed_mask: int = 0
    sample: str = ""  # the attempt to open for this cell: its first failing one, else its first
    sample_failed: bool = False
    wall_ms: int = 0
    wall_min: int | None = None
    wall_max: int = 0
    cost_usd: float = 0.0
    costed: int = 0
    tokens_out: int = 0
    score: float = 0.0
    scored: int = 0
    reruns: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def add(self, row: Row) -> None:
        self.attempts += 1
        self.wall_ms += row.wall_ms
        self.wall_max = max(self.wall_max, row.wall_ms)
        self.wall_min = row.wall_ms if self.wall_min is None else min(self.wall_min, row.wall_ms)
        self.reruns += row.reruns
        if row.cost_usd is not None:
            self.cost_usd += row.cost_usd
            self.costed += 1
        self.tokens_out += row.tokens_out or 0
        if row.score is not None:
            self.score += row.score
            self.scored += 1
        if row.reason:
            self.reasons[row.reason] += 1
        passed = row.status == PASS
        if not self.sample or (not passed and not self.sample_failed):
            self.sample, self.sample_failed = row.key, not passed
        if row.outcome == INFRA_ERROR:
            return
        self.n += 1
        self.c += passed
        bit = 1 << min(row.trial or 0, 4096)
        self.counted_mask |= bit
        if passed:
            self.passed_mask |= bit

    def stats(self, k: int) -> dict[str, Any]:
        """What the matrix shows of the cell, with k the planned number of trials."""
        n, c = self.n, self.c
        stability = "deterministic"
        if 0 < c < n:  # Assay's split: failed first and passed last looks like warm-up
            first = self.counted_mask & -self.counted_mask
            last = 1 << (self.counted_mask.bit_length() - 1)
            warm_up = not self.passed_mask & first and self.passed_mask & last
            stability = "flaky" if warm_up else "unstable"
        return {
            "attempts": self.attempts,
            "n": n,
            "c": c,
            "lost": self.attempts - n,
            "pass_rate": c / n if n else None,
            "wilson_95": wilson_interval(n, c),
            "pass_at_k": pass_at_k(n, c, k),
            "pass_hat_k": pass_hat_k(n, c, k),
            "flaky": 0 < c < n or (self.reruns > 0 and c > 0),
            "stability": stability,
            "mean_wall_ms": self.wall_ms / self.attempts if self.attempts else None,
            "wall_range_ms": [self.wall_min, self.wall_max] if self.attempts else None,
            "cost_usd": self.cost_usd if self.costed else None,
            "mean_score": self.score / self.scored if self.scored else None,
            "reasons": dict(self.reasons.most_common(3)),
            "sample": self.sample,
        }


class RunTally:
    """Counts of one run's results read so far; `feed()` reads what was appended since."""

    def __init__(self, results: Path) -> None:
        self.results = results
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.offset = 0
        self.identity: tuple[int, int] | None = None
        self.attempts = self.passed = self.lost = 0
        self.cost_usd = 0.0
        self.costed = 0
        self.wall_ms = 0
        self.statuses: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.graders: Counter[str] = Counter()  # failing verdicts by grader
        self.models: dict[str, None] = {}  # in order of first result
        self.cells: dict[Group, Cell] = {}

    def feed(self) -> RunTally:
        with self._lock:
            try:
                stat = os.stat(self.results)
            except OSError:
                return self
            identity = (stat.st_dev, stat.st_ino)
            if self.identity != identity or stat.st_size < self.offset:
                self._reset()
                self.identity = identity
            if stat.st_size > self.offset:
                for _, end, row in scan_rows(self.results, self.offset):
                    if row is not None:
                        self._add(row)
                    self.offset = end
        return self

    def _add(self, row: Row) -> None:
        self.attempts += 1
        self.passed += row.status == PASS
        self.lost += row.outcome == INFRA_ERROR
        self.wall_ms += row.wall_ms
        if row.cost_usd is not None:
            self.cost_usd += row.cost_usd
            self.costed += 1
        self.statuses[row.status] += 1
        if row.reason:
            self.reasons[row.reason] += 1
        for verdict in row.verdicts:
            if verdict.status != "pass":
                self.graders[verdict.name or verdict.grader] += 1
            else:
                self.graders.setdefault(verdict.name or verdict.grader, 0)
        if row.model is not None:
            self.models.setdefault(row.model, None)
        cell = self.cells.get((row.case_id, row.model))
        if cell is None:
            cell = self.cells[(row.case_id, row.model)] = Cell()
        cell.add(row)

    @property
    def pass_rate(self) -> float | None:
        counted = self.attempts - self.lost
        return self.passed / counted if counted else None

    @property
    def flaky_cells(self) -> int:
        return sum(1 for cell in self.cells.values() if 0 < cell.c < cell.n)
