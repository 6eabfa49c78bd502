"""What a run does around its attempts to gate them: baseline, history, incremental reuse,
re-runs of failures, quarantine, the reports asked for, and the exit code the gate decides.

`run.py` makes a `Gatekeeper` before the run directory exists (so a bad baseline or database
is exit 2 with nothing started), asks it which attempts to run, wraps `run_one` with it, and
hands it the summary at the end.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from harness._version import __version__
from harness.aggregate.streaming import Reread
from harness.attempt.context import AttemptOutput
from harness.attempt.spec import AttemptPlan
from harness.config.schema import Regression, Suite
from harness.errors import EXIT_FAILED, EXIT_OK, HarnessError, UsageError
from harness.gate.baseline import Baseline, CaseRow, check_same_suite, load_baseline, write_baseline
from harness.gate.evaluate import GateReport, Policy, Unit, evaluate_units
from harness.reports.rebuild import write_reports
from harness.reports.run_data import HISTORY_FILE, RunData
from harness.results import INFRA_ERROR, PASS, AttemptResult
from harness.storage.atomic import atomic_write
from harness.storage.fingerprint import (
    agent_digest,
    attempt_fingerprint,
    digest_files,
    git_sha,
)
from harness.storage.history import DEFAULT_DB, History, RunRecord
from harness.storage.runs import to_builtins

if TYPE_CHECKING:
    from harness.aggregate.result_index import ResultIndex
    from harness.aggregate.tally import RunTally

T = TypeVar("T")
HISTORY_POINTS = 50  # runs shown in the HTML chart


@dataclass(frozen=True)
class GateOptions:
    """The gate's part of RunOptions."""

    baseline: Path | None = None
    export_baseline: Path | None = None
    db: str | None = DEFAULT_DB  # None: keep no history
    incremental: bool = False
    no_cache: bool = False  # --refresh-cache / --no-cache: ignore the history for reuse
    rerun_failures: int = 0
    quarantine_flaky: bool = False
    reports: dict[str, Path] = field(default_factory=dict)  # kind -> path (harness ci)


class Gatekeeper:
    def __init__(self, options: GateOptions, suite: Suite, warn: Callable[[str], None]) -> None:
        self.options = options
        self.suite = suite
        self.warn = warn
        self.baseline: Baseline | None = None
        self.history: History | None = None
        # Fingerprints are computed when asked (a few microseconds each) rather than kept for
        # every attempt; what they read that could change during the run (the agent's files,
        # cassettes, seeded workspace files) is digested up front.
        self._agent = ""
        self._cassettes: dict[Path, str | None] = {}
        self.reused: dict[str, AttemptResult] = {}
        self.flaky: dict[str, str] = {}
        self.git_sha = git_sha(suite.dir)
        self.gate: GateReport | None = None

    @classmethod
    def prepare(
        cls,
        options: GateOptions,
        suite: Suite,
        attempts: Sequence[AttemptPlan],
        warn: Callable[[str], None],
    ) -> Gatekeeper:
        """Check the flags, load the baseline, open the history: all before anything runs."""
        if options.rerun_failures < 0:
            raise UsageError(f"--rerun-failures must be 0 or more, got {options.rerun_failures}")
        if options.baseline is not None and options.export_baseline is not None:
            raise UsageError("--baseline and --export-baseline are exclusive: gate, or export")
        keeper = cls(options, suite, warn)
        path = options.baseline or (None if options.export_baseline else suite.baseline_path)
        if path is not None:
            keeper.baseline = load_baseline(path)
            check_same_suite(keeper.baseline, suite.name)
        if options.db:
            keeper.history = History.open(options.db)
        keeper._agent = agent_digest(suite)
        cases: set[str] = set()
        for attempt in attempts:  # the files each case's fingerprints read, digested now
            if attempt.case.id not in cases:
                cases.add(attempt.case.id)
                digest_files(attempt.case, keeper._cassettes)
        if keeper.history is not None:
            if options.quarantine_flaky:
                keeper.flaky = keeper.history.flaky_cases(suite.name)
            if options.incremental and not options.no_cache:
                keeper.reused = keeper._reusable(attempts)
        return keeper

    def fingerprint(self, attempt: AttemptPlan) -> str:
        """What decides the attempt's outcome (see harness.storage.fingerprint)."""
        return attempt_fingerprint(
            self.suite,
            attempt.case,
            agent=self._agent,
            model=attempt.model,
            trial=attempt.trial,
            cassettes=self._cassettes,
        )

    def _reusable(self, attempts: Sequence[AttemptPlan]) -> dict[str, AttemptResult]:
        assert self.history is not None
        by_id = {attempt.attempt_id: self.fingerprint(attempt) for attempt in attempts}
        found = self.history.passing_results(self.suite.name, by_id.values())
        reused = {}
        for attempt in attempts:
            fingerprint = by_id[attempt.attempt_id]
            row = found.get(fingerprint)
            if row is None:
                continue
            reused[attempt.attempt_id] = AttemptResult(
                case_id=attempt.case.id,
                attempt_id=attempt.attempt_id,
                status=PASS,
                wall_ms=0,
                model=attempt.model,
                trial=attempt.trial,
                tool_calls=row["tool_calls"] or 0,
                tool_errors=row["tool_errors"] or 0,
                tokens_in=row["tokens_in"],
                tokens_out=row["tokens_out"],
                cost_usd=row["cost_usd"],
                steps=row["steps"] or 0,
                fingerprint=fingerprint,
                reused_from=row["reused_from"] or row["run_id"],  # where it really ran
            )
        return reused

    @property
    def quarantine(self) -> frozenset[str]:
        return self.suite.quarantine | frozenset(self.flaky)

    def header(self) -> dict[str, Any]:
        """Fields for run.json: where each case is defined (SARIF points there), the commit."""
        return {
            "suite_file": str(self.suite.file),
            "case_sources": {case.id: [str(case.file), case.line] for case in self.suite.cases},
            "git_sha": self.git_sha,
            "baseline": str(self.baseline.path) if self.baseline else None,
            "reused": len(self.reused),
        }

    def to_run(self, attempts: Sequence[AttemptPlan]) -> list[AttemptPlan]:
        return [attempt for attempt in attempts if attempt.attempt_id not in self.reused]

    def wrap(
        self, run_one: Callable[..., Awaitable[AttemptOutput]]
    ) -> Callable[..., Awaitable[AttemptOutput]]:
        """run_one with re-runs of failed attempts (not infrastructure errors: the pool retries
        those) and the fingerprint stamped on each result."""
        reruns = self.options.rerun_failures

        async def wrapped(attempt: AttemptPlan, *rest: Any) -> AttemptOutput:
            output = await run_one(attempt, *rest)
            tries = 0
            while output.result.status != PASS and tries < reruns:
                if output.result.outcome == INFRA_ERROR:
                    break
                tries += 1
                output = await run_one(attempt, *rest)
            result = msgspec.structs.replace(
                output.result,
                fingerprint=self.fingerprint(attempt),
                reruns=tries,
                flaky=tries > 0 and output.result.status == PASS,
            )
            # Keep `retryable`: the pool's retry policy reads it from this output.
            return AttemptOutput(result=result, trace=output.trace, retryable=output.retryable)

        return wrapped

    def judge(
        self,
        rows: Iterable[dict[str, Any]],
        sizes: Mapping[Unit, int],
        summary: dict[str, Any],
        exit_code: int,
        reason: str,
        wall_values: Reread | None = None,
    ) -> tuple[int, str]:
        """Gate the run; the gate decides between exit 0 and 1, never over 2, 3 or 130.

        `rows` are summary.json's rows (annotated, in order), streamed: the units are judged
        one at a time; `sizes` is how many rows each (case, model) has; `wall_values` reads
        their wall_ms again (see ValueTally).
        """
        policy = Policy(self.suite.regression or Regression(), self.quarantine)
        self.gate = evaluate_units(
            _units(rows), sizes, self.baseline, policy, wall_values=wall_values
        )
        gate_json = self.gate.to_json()
        if self.baseline is not None:
            gate_json["baseline_aggregates"] = _baseline_aggregates(self.baseline)
        if self.flaky:
            gate_json["flaky_quarantined"] = self.flaky
        summary["regression"] = gate_json
        summary["policy_snapshot"] = policy.snapshot()
        summary["run"]["git_sha"] = summary["run"].get("git_sha") or self.git_sha
        if exit_code in (EXIT_OK, EXIT_FAILED):
            exit_code = EXIT_OK if self.gate.passed else EXIT_FAILED
            reason = self.gate.reason_code
            summary["run"]["exit_status"] = "success" if exit_code == EXIT_OK else "failed"
        return exit_code, reason

    def finish(
        self,
        root: Path,
        run: dict[str, Any],
        summary: dict[str, Any],
        tally: RunTally,
        rows: Callable[[], Iterable[dict[str, Any]]],
    ) -> None:
        """After run.json is final: history, the trend snapshot, reports, the exported baseline.

        `summary` is summary.json without its rows; `rows()` streams them (an exported
        baseline holds them all: it is one file, sorted and indented whole).
        """
        history_points: list[dict[str, Any]] = []
        if self.history is not None:
            try:
                self.history.record_run(
                    _run_record(root, run, self.git_sha),
                    tally.results(),
                    self._planned_fingerprint(tally.index),
                )
                history_points = self.history.runs(self.suite.name, limit=HISTORY_POINTS)
            except sqlite3.Error as exc:
                self.warn(f"{self.options.db}: history not written: {exc}")
            finally:
                self.history.close()
        data = RunData(root, run, summary, None, history_points, index=tally.index)
        with contextlib.suppress(HarnessError):
            if history_points:
                points = msgspec.json.encode({"runs": history_points})
                atomic_write(root / HISTORY_FILE, points + b"\n")
            write_reports(data, {"junit": root / "junit.xml"})
        if self.options.reports:
            write_reports(data, self.options.reports)
        if self.options.export_baseline is not None:
            document = to_builtins({**summary, "cases": list(rows())})
            write_baseline(self.options.export_baseline, document)

    def _planned_fingerprint(self, index: ResultIndex) -> Callable[[AttemptResult], str | None]:
        """For history rows: the fingerprint of the planned attempt with the result's id (the
        result's own may be unset: pool and Ray results skip `wrap`), or None if unplanned."""

        def lookup(result: AttemptResult) -> str | None:
            found = index.planned_attempt(
                result.attempt_id, result.case_id, result.model, result.trial
            )
            if found is None:
                return None
            case, model, trial = found
            return attempt_fingerprint(
                self.suite,
                case,
                agent=self._agent,
                model=model,
                trial=trial,
                cassettes=self._cassettes,
            )

        return lookup


def _units(
    rows: Iterable[dict[str, Any]],
) -> Iterator[tuple[tuple[str, str | None], list[CaseRow]]]:
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


def _run_record(root: Path, run: dict[str, Any], sha: str | None) -> RunRecord:
    return RunRecord(
        run_id=str(run["run_id"]),
        suite=str(run["suite"]),
        started_at=str(run.get("started_at") or ""),
        suite_path=run.get("suite_path"),
        finished_at=run.get("finished_at"),
        git_sha=sha,
        harness_version=__version__,
        mode=run.get("mode"),
        status=run.get("status"),
        exit_code=run.get("exit_code"),
        run_dir=os.path.abspath(root),
        config_hash=run.get("config_hash"),
    )
