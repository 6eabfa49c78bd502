"""`--incremental`: attempts whose fingerprint is unchanged since they passed are not run again;
their last passing result is reused. The fingerprints themselves (see harness.storage.fingerprint)
are stamped on every result and stored with it in the history.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from harness.aggregate.result_index import ResultIndex
from harness.attempt.spec import AttemptPlan
from harness.config.schema import Case, Suite
from harness.results import PASS, AttemptResult
from harness.storage.fingerprint import agent_digest, attempt_fingerprint, digest_files
from harness.storage.history import History


class Fingerprints:
    """The fingerprints of a run's attempts, computed when asked (a few microseconds each)
    rather than kept for every attempt. What they read that could change during the run (the
    agent's files, cassettes, seeded workspace files) is digested when this is made."""

    def __init__(self, suite: Suite, attempts: Sequence[AttemptPlan]) -> None:
        self.suite = suite
        self._agent = agent_digest(suite)
        self._files: dict[Path, str | None] = {}
        cases: set[str] = set()
        for attempt in attempts:
            if attempt.case.id not in cases:
                cases.add(attempt.case.id)
                digest_files(attempt.case, self._files)

    def of(self, attempt: AttemptPlan) -> str:
        """What decides the attempt's outcome (see harness.storage.fingerprint)."""
        return self.of_trial(attempt.case, attempt.model, attempt.trial)

    def of_trial(self, case: Case, model: str | None, trial: int | None) -> str:
        return attempt_fingerprint(
            self.suite, case, agent=self._agent, model=model, trial=trial, cassettes=self._files
        )

    def of_planned(self, index: ResultIndex) -> Callable[[AttemptResult], str | None]:
        """For history rows: the fingerprint of the planned attempt with the result's id, or
        None if no such attempt was planned. The result's own may be unset: Ray's results, and
        attempts the pool lost to a bug, skip the re-runs that stamp it (harness.execute.reruns)."""

        def lookup(result: AttemptResult) -> str | None:
            found = index.planned_attempt(
                result.attempt_id, result.case_id, result.model, result.trial
            )
            return None if found is None else self.of_trial(*found)

        return lookup


def reusable(
    history: History, attempts: Sequence[AttemptPlan], fingerprints: Fingerprints
) -> dict[str, AttemptResult]:
    """attempt id -> the result reused for it: the latest passing result of the suite with the
    same fingerprint, as a pass of 0 ms that says where it really ran."""
    by_id = {attempt.attempt_id: fingerprints.of(attempt) for attempt in attempts}
    found = history.passing_results(fingerprints.suite.name, by_id.values())
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
