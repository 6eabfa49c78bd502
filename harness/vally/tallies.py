"""Per-stimulus statistics of a run, Vally's and harness's: pass rate with a Wilson interval,
pass@k (the unbiased estimator, Chen et al. 2021), pass^k as Vally prints it (the plug-in
p^k) beside the unbiased C(c,k)/C(n,k), flaky when trials disagree. Lost trials (infrastructure
errors that survived their retries) are never trials: they shrink n and are reported."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.aggregate.stats import (
    pass_at_k,
    pass_hat_k,
    pass_hat_k_plugin,
    pass_rate,
    wilson_interval,
)

PASS_AT_K_ESTIMATOR = "unbiased (Chen et al. 2021): 1 - C(n-c,k)/C(n,k)"
PASS_HAT_K_ESTIMATOR = "plug-in p^k, as Vally prints it; unbiased C(c,k)/C(n,k) beside it"


@dataclass
class StimulusTally:
    """The trials of one (eval, variant, model, stimulus)."""

    eval_name: str
    variant: str | None
    model: str | None
    stimulus: str
    planned: int
    outcomes: dict[int, str] = field(default_factory=dict)  # trial index -> outcome
    scores: dict[int, float] = field(default_factory=dict)
    duplicates: list[int] = field(default_factory=list)

    def add(self, trial_index: int, outcome: str, score: float | None) -> None:
        if trial_index in self.outcomes:
            self.duplicates.append(trial_index)
        self.outcomes[trial_index] = outcome
        if score is not None:
            self.scores[trial_index] = score

    @property
    def counted(self) -> list[str]:
        ordered = [self.outcomes[i] for i in sorted(self.outcomes)]
        return [o for o in ordered if o not in ("infra_error", "ungraded", "")]

    @property
    def lost(self) -> int:
        return sum(1 for outcome in self.outcomes.values() if outcome == "infra_error")

    @property
    def ungraded(self) -> int:
        return sum(1 for outcome in self.outcomes.values() if outcome in ("ungraded", ""))

    @property
    def missing(self) -> list[int]:
        return [i for i in range(self.planned) if i not in self.outcomes]

    @property
    def passed(self) -> int:
        return sum(1 for outcome in self.counted if outcome == "passed")

    @property
    def flaky(self) -> bool:
        counted = self.counted
        return 0 < self.passed < len(counted)

    @property
    def all_passed(self) -> bool:
        """Every planned trial counted and passed: the stimulus passes."""
        return not self.lost and not self.missing and self.passed == self.planned

    def stats(self) -> dict[str, Any]:
        n, c, k = len(self.counted), self.passed, self.planned
        interval = wilson_interval(n, c)
        return {
            "eval": self.eval_name,
            "variant": self.variant,
            "model": self.model,
            "stimulus": self.stimulus,
            "trialsPlanned": k,
            "trialsCounted": n,
            "trialsPassed": c,
            "trialsLost": self.lost,
            "trialsUngraded": self.ungraded,
            "trialsMissing": self.missing,
            "passRate": pass_rate(n, c),
            "passRateCi95": list(interval) if interval else None,
            "k": k,
            "passAtK": pass_at_k(n, c, k) if n else None,
            "passHatK": pass_hat_k_plugin(n, c, k) if n else None,
            "passHatKUnbiased": pass_hat_k(n, c, k) if n else None,
            "flaky": self.flaky,
            "passed": self.all_passed,
            "meanScore": sum(self.scores.values()) / len(self.scores) if self.scores else None,
        }


class Tallies:
    """Every stimulus tally of a run, in first-planned order."""

    def __init__(self) -> None:
        self.by_key: dict[tuple[str, str | None, str | None, str], StimulusTally] = {}

    def plan(self, key: tuple[str, str | None, str | None, str], planned: int) -> None:
        self.by_key.setdefault(key, StimulusTally(*key, planned=planned))

    def add(self, record: Mapping[str, Any]) -> None:
        key = (
            record["evalName"],
            record.get("variant"),
            record.get("model"),
            record["stimulusName"],
        )
        grade = record.get("gradeResult") or {}
        tally = self.by_key.setdefault(key, StimulusTally(*key, planned=0))
        tally.add(record["trialIndex"], record["harness"]["outcome"], grade.get("score"))

    def __iter__(self) -> Any:
        return iter(self.by_key.values())

    def complete(self) -> bool:
        return all(not t.missing and not t.duplicates for t in self.by_key.values())

    def summary(self) -> dict[str, Any]:
        rows = [tally.stats() for tally in self.by_key.values()]
        return {
            "estimators": {"passAtK": PASS_AT_K_ESTIMATOR, "passHatK": PASS_HAT_K_ESTIMATOR},
            "stimuli": rows,
            "complete": self.complete(),
            "trialsLost": sum(t.lost for t in self.by_key.values()),
        }


def macro_average(rows: Iterable[Mapping[str, Any]], key: str) -> float | None:
    """The mean of a per-stimulus metric: Vally's skill-level aggregate (not a pool of trials)."""
    values = [row[key] for row in rows if isinstance(row.get(key), int | float)]
    return sum(values) / len(values) if values else None
