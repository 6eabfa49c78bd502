"""A sweep's statistics: per (case, model), per model, and the model x case matrix.

Infrastructure errors that survived their retries are not trials: they are counted as lost and
left out of every estimator (see harness.stats). Each trial's outcome is one letter, in trial
order: P passed, F failed, B budget exceeded, E infrastructure error (lost), - did not run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from harness.aggregate.stats import mean, pass_at_k, pass_hat_k, trial_stats, wilson_interval
from harness.aggregate.streaming import Reread, ValueTally
from harness.plan.build import Plan
from harness.results import (
    BUDGET_EXCEEDED,
    FAILED,
    INFRA_ERROR,
    PASS,
    PASSED,
    AttemptResult,
)

USAGE = ("tokens_in", "tokens_out", "cost_usd")
LETTERS = {PASSED: "P", FAILED: "F", BUDGET_EXCEEDED: "B", INFRA_ERROR: "E"}
ESTIMATORS = {
    "pass_rate": "c/n over the counted trials; infrastructure errors are not trials",
    "wilson_95": "Wilson score interval of the pass rate, 95%",
    "pass_at_k": "unbiased 1 - C(n-c,k)/C(n,k) (Chen et al. 2021); k = planned trials",
    "pass_hat_k": "unbiased C(c,k)/C(n,k) (tau-bench); k = planned trials",
    "pass_hat_k_plugin": "plug-in (c/n)^k, what Vally prints as pass^k; biased upward",
    "pass_at / pass_hat": "the unbiased estimators for every k from 1 to n",
    "flaky": "the counted trials disagree; minority_share = the rarer outcome's share",
    "stability": "Assay's split: flaky = first trial failed and last passed; unstable = any "
    "other mix; deterministic_pass / deterministic_fail / no_trials",
    "per_model": "macro averages over cases (each case weighs the same); pooled = all trials",
}


def outcome_of(result: AttemptResult) -> str:
    """The four-state outcome; results written before outcomes existed are mapped by status."""
    if result.outcome:
        return result.outcome
    return PASSED if result.status == PASS else FAILED


def sweep_summary(plan: Plan, results: Iterable[AttemptResult]) -> dict[str, Any]:
    """The `sweep` object of summary.json."""
    tally = SweepTally(plan)
    for result in results:
        tally.add(result)
    return tally.summary()


class SweepTally:
    """What `sweep_summary` needs, fed one result at a time: each trial's outcome letter and
    per-model usage. One byte a planned trial, plus a few numbers a model."""

    def __init__(self, plan: Plan, reread: Callable[[str | None], Reread] | None = None) -> None:
        """`reread(model)`: that model's wall_ms values again (see ValueTally)."""
        self.plan = plan
        self._reread = reread
        self.letters: dict[tuple[str, str | None], bytearray] = {}
        for attempt in plan.attempts:
            key = (attempt.case.id, attempt.model)
            if key not in self.letters:
                self.letters[key] = bytearray(b"-" * plan.runs)
        self.models: dict[str | None, ModelTally] = {}

    def add(self, result: AttemptResult) -> None:
        row = self.letters.get((result.case_id, result.model))
        index = (result.trial or 1) - 1
        if row is not None and 0 <= index < len(row):  # a later result for a trial wins
            row[index] = ord(LETTERS.get(outcome_of(result), "F"))
        model = self.models.get(result.model)
        if model is None:
            reread = self._reread(result.model) if self._reread else None
            model = self.models[result.model] = ModelTally(reread)
        model.add(result)

    def summary(self) -> dict[str, Any]:
        plan = self.plan
        cases = [
            unit_row(case_id, model, row.decode(), plan.runs)
            for (case_id, model), row in self.letters.items()
        ]
        return {
            "models": list(plan.models),
            "runs": plan.runs,
            "k": plan.runs,
            "estimators": ESTIMATORS,
            "per_model": [
                model_row(model, cases, self.models.get(model) or ModelTally())
                for model in plan.models
            ],
            "cases": cases,
            "flaky_cases": [
                {"case_id": row["case_id"], "model": row["model"], "outcomes": row["outcomes"]}
                for row in cases
                if row["flaky"]
            ],
        }


class ModelTally:
    """One model's usage and wall times."""

    def __init__(self, reread: Reread | None = None) -> None:
        self.usage = {name: ValueTally(percentiles=False) for name in USAGE}
        self.wall_ms = ValueTally(reread=reread)

    def add(self, result: AttemptResult) -> None:
        for name, tally in self.usage.items():
            tally.add(getattr(result, name))
        self.wall_ms.add(result.wall_ms)


def unit_row(case_id: str, model: str | None, letters: Sequence[str], runs: int) -> dict[str, Any]:
    counted = [letter == "P" for letter in letters if letter in "PFB"]
    stats = trial_stats(counted, planned=runs)
    return {
        "case_id": case_id,
        "model": model,
        "outcomes": "".join(letters),
        "planned": runs,
        "n": stats.n,
        "c": stats.c,
        "lost": letters.count("E"),
        "missing": letters.count("-"),
        "budget_exceeded": letters.count("B"),
        "pass_rate": stats.pass_rate,
        "wilson_95": list(stats.wilson_95) if stats.wilson_95 else None,
        "pass_at_k": stats.pass_at_k,
        "pass_hat_k": stats.pass_hat_k,
        "pass_hat_k_plugin": stats.pass_hat_k_plugin,
        # Every k the counted trials allow, as tau-bench prints pass^1..pass^4.
        "pass_at": KCurve(pass_at_k, stats.n, stats.c),
        "pass_hat": KCurve(pass_hat_k, stats.n, stats.c),
        "flaky": stats.flaky,
        "minority_share": stats.minority_share,
        "stability": stats.stability.value,
    }


class KCurve(Mapping[str, float | None]):
    """`{str(k): estimator(n, c, k) for k in 1..n}`, each value computed when read.

    A dict would hold 2n floats a row: 200 MB of them in a 100,000-attempt sweep of 100 cases.
    summary.json gets the dict itself (storage.runs encodes any Mapping as one); in memory it
    reads like one and compares equal to one.
    """

    __slots__ = ("_estimator", "c", "n")

    def __init__(self, estimator: Callable[[int, int, int], float | None], n: int, c: int) -> None:
        self._estimator, self.n, self.c = estimator, n, c

    def __getitem__(self, key: str) -> float | None:
        k = int(key) if isinstance(key, str) and key.isdigit() else 0
        if not 1 <= k <= self.n or key != str(k):
            raise KeyError(key)
        return self._estimator(self.n, self.c, k)

    def __iter__(self) -> Iterator[str]:
        return (str(k) for k in range(1, self.n + 1))

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return repr(dict(self))


def model_row(
    model: str | None, cases: Sequence[dict[str, Any]], tally: ModelTally
) -> dict[str, Any]:
    rows = [row for row in cases if row["model"] == model]
    n = sum(row["n"] for row in rows)
    c = sum(row["c"] for row in rows)
    interval = wilson_interval(n, c)
    return {
        "model": model,
        "cases": len(rows),
        "trials_planned": sum(row["planned"] for row in rows),
        "trials_counted": n,
        "passed": c,
        "failed": n - c - sum(row["budget_exceeded"] for row in rows),
        "budget_exceeded": sum(row["budget_exceeded"] for row in rows),
        "trials_lost": sum(row["lost"] for row in rows),
        "trials_missing": sum(row["missing"] for row in rows),
        "pass_rate": mean([row["pass_rate"] for row in rows]),
        "pass_rate_pooled": c / n if n else None,
        "wilson_95_pooled": list(interval) if interval else None,
        "pass_at_k": mean([row["pass_at_k"] for row in rows]),
        "pass_hat_k": mean([row["pass_hat_k"] for row in rows]),
        "pass_hat_k_plugin": mean([row["pass_hat_k_plugin"] for row in rows]),
        "flaky_cases": sum(1 for row in rows if row["flaky"]),
        "usage": usage_totals(tally),
        "wall_ms": tally.wall_ms.summary(),
    }


def usage_totals(tally: ModelTally) -> dict[str, Any]:
    """Usage as agents reported it (a `usage` message or `final_output.usage`), per model."""
    totals: dict[str, Any] = {}
    for name, values in tally.usage.items():
        totals[f"{name}_total"] = values.total if values.count else None
        totals[f"{name}_mean"] = values.mean()
        totals[f"{name}_reported"] = values.count
    return totals
