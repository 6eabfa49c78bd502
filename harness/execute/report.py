"""What a run did: RunReport, read lazily from the run directory."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from harness.aggregate.completeness import Completeness
from harness.aggregate.tally import FAILED_KEPT, RunTally
from harness.config.files import read_regular
from harness.plan.build import Plan
from harness.results import PASS, UNGRADED, AttemptResult


@dataclass
class RunReport:
    """What a run did.

    A run keeps no list of its results (a 10,000-attempt sweep would hold them all): `results`
    and `summary` are read from the run directory (results.jsonl, summary.json) on first access
    and then kept. `passed`, `count`, `first_failures` and `overview` (summary.json without its
    per-attempt rows; a sweep's pass@k curves are read-only Mappings there, computed when read)
    come from counts kept while the run went, and cost nothing.
    """

    run_dir: Path | None  # None when nothing ran (--runs 0 validates only)
    exit_code: int
    status: str  # finished | stopped | interrupted | error | validated
    # repr=False: asyncio formats the main task's result into a throwaway error message when
    # anyio.run ends (signal.getsignal on 3.11); with 10,000 results that repr was ~40 MB.
    overview: dict[str, Any] = field(default_factory=dict, repr=False)
    planned: int = 0
    plan: Plan | None = field(default=None, repr=False)
    completeness: Completeness | None = field(default=None, repr=False)
    stop_reason: str | None = None  # fail_fast | interrupted
    message: str | None = None  # why the run could not finish (status error)
    tally: RunTally | None = field(default=None, repr=False)
    rows: Callable[[], Iterable[dict[str, Any]]] | None = field(default=None, repr=False)
    _results: list[AttemptResult] | None = field(default=None, repr=False)
    _summary: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def results(self) -> list[AttemptResult]:
        """Every attempt's result, in the order they finished: read from results.jsonl on first
        access (so the run directory must still exist then), then kept."""
        if self._results is None:
            self._results = list(self.tally.results()) if self.tally is not None else []
        return self._results

    @property
    def summary(self) -> dict[str, Any]:
        """summary.json, per-attempt rows included: read on first access, then kept."""
        if self._summary is None:
            self._summary = self._read_summary()
        return self._summary

    def _read_summary(self) -> dict[str, Any]:
        if self.run_dir is None:
            return dict(self.overview)
        with contextlib.suppress(OSError, msgspec.DecodeError, UnicodeDecodeError):
            value = msgspec.json.decode(read_regular(self.run_dir / "summary.json"))
            if isinstance(value, dict):
                return value
        # summary.json could not be written (a full disk): the same rows, from results.jsonl.
        return {**self.overview, "cases": list(self.rows()) if self.rows is not None else []}

    @property
    def passed(self) -> int:
        return self.count(PASS)

    @property
    def finished(self) -> int:
        """Results written: attempts that finished, reused ones included."""
        return self.tally.total if self.tally is not None else len(self.results)

    def count(self, status: str) -> int:
        """Results with this status."""
        if self.tally is not None:
            return self.tally.statuses[status]
        return sum(1 for r in self.results if r.status == status)

    def first_failures(self) -> tuple[list[AttemptResult], int]:
        """The first results (up to FAILED_KEPT) that neither passed nor are ungraded, in the
        order they finished, and how many there are in all."""
        if self.tally is not None:
            return list(self.tally.failed), self.tally.failed_count
        failed = [r for r in self.results if r.status not in (PASS, UNGRADED)]
        return failed[:FAILED_KEPT], len(failed)

    def iter_results(self) -> Iterator[AttemptResult]:
        """Every result, in the order they finished, read one at a time (none kept)."""
        if self._results is not None or self.tally is None:
            return iter(self.results)
        return self.tally.results()
