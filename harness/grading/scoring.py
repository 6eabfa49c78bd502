"""From verdicts to one decision per attempt, as Vally scores a trial.

Without a threshold, the attempt passes when every grader passes. With one (suite, case or
`--threshold`), it passes when the weighted mean score `sum(w * s) / sum(w)` reaches it; a
grader's score is its own, else 1 for a pass and 0 otherwise. Either way an `uncertain`
verdict (a judge's split vote) is never a pass, and an `error` verdict (a grader that could
not run) makes the attempt an infrastructure error.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from harness.grading.verdict import ERRORED, FAILED, PASSED, UNCERTAIN, Verdict

# Scores are sums of floats: 0.7 must reach a 0.7 threshold despite rounding.
EPSILON = 1e-9


# A msgspec Struct, not a dataclass: ~50x cheaper to define (start-up), and to make.
class Decision(msgspec.Struct, frozen=True):
    status: str  # pass | fail | uncertain | error
    score: float | None  # the weighted mean, when there is anything to weigh
    threshold: float | None
    evidence: str


def weighted_score(verdicts: Sequence[Verdict]) -> float | None:
    total = sum(v.weight for v in verdicts)
    if not verdicts or total <= 0:
        return None
    return sum(v.weight * v.effective_score() for v in verdicts) / total


def decide(verdicts: Sequence[Verdict], threshold: float | None) -> Decision:
    score = weighted_score(verdicts)
    errored = [v for v in verdicts if v.status == ERRORED]
    if errored:
        return Decision(ERRORED, score, threshold, _join(errored))
    uncertain = [v for v in verdicts if v.status == UNCERTAIN]
    if uncertain:
        return Decision(UNCERTAIN, score, threshold, _join(uncertain))
    failed = [v for v in verdicts if v.status != PASSED]
    if threshold is None or score is None:
        if failed:
            return Decision(FAILED, score, threshold, _join(failed))
        return Decision(PASSED, score, threshold, f"{len(verdicts)} grader(s) passed")
    shown = f"weighted score {score:.3f}"
    if score + EPSILON >= threshold:
        note = f" ({len(failed)} grader(s) failed)" if failed else ""
        return Decision(PASSED, score, threshold, f"{shown} reaches threshold {threshold}{note}")
    return Decision(FAILED, score, threshold, f"{shown} is below threshold {threshold}")


def _join(verdicts: Sequence[Verdict]) -> str:
    return "; ".join(f"{v.label}: {v.evidence}" for v in verdicts)
