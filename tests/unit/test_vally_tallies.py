"""Per-stimulus statistics (harness.vally.tallies): lost trials never counted, missing and
duplicate trials found, Vally's pass^k beside the unbiased one."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from harness.vally.tallies import Tallies, macro_average

KEY = ("e", None, "m", "s")


def record(index: int, outcome: str, score: float | None = 1.0) -> dict[str, Any]:
    grade = None if score is None else {"score": score}
    return {
        "evalName": "e",
        "variant": None,
        "model": "m",
        "stimulusName": "s",
        "trialIndex": index,
        "gradeResult": grade,
        "harness": {"outcome": outcome},
    }


def test_lost_trials_shrink_n_and_missing_ones_make_the_run_incomplete() -> None:
    tallies = Tallies()
    tallies.plan(KEY, 4)
    for index, outcome in enumerate(["passed", "failed", "infra_error"]):
        tallies.add(record(index, outcome))
    row = tallies.summary()["stimuli"][0]
    assert (row["trialsCounted"], row["trialsPassed"], row["trialsLost"]) == (2, 1, 1)
    assert row["trialsMissing"] == [3]
    assert row["passAtK"] is None  # k = 4 > n = 2: undefined, never made up
    assert row["flaky"] is True
    assert row["passed"] is False
    assert tallies.complete() is False
    tallies.add(record(3, "passed"))
    tallies.add(record(3, "passed"))
    assert tallies.complete() is False  # a duplicate record


def test_vallys_pass_hat_k_beside_the_unbiased_one() -> None:
    tallies = Tallies()
    tallies.plan(KEY, 5)
    for index, outcome in enumerate(["passed"] * 4 + ["failed"]):
        tallies.add(record(index, outcome))
    row = tallies.summary()["stimuli"][0]
    assert row["passAtK"] == 1.0  # Vally's docs print 0.99: the naive 1-(1-p)^k
    assert round(row["passHatK"], 3) == 0.328  # 0.8^5, as Vally's example
    assert row["passHatKUnbiased"] == 0.0


@given(st.lists(st.sampled_from(["passed", "failed", "infra_error"]), min_size=1, max_size=12))
def test_pass_hat_k_never_exceeds_pass_at_k(outcomes: list[str]) -> None:
    tallies = Tallies()
    tallies.plan(KEY, len(outcomes))
    for index, outcome in enumerate(outcomes):
        tallies.add(record(index, outcome))
    row = tallies.summary()["stimuli"][0]
    if row["passAtK"] is not None:
        assert 0 <= row["passHatKUnbiased"] <= row["passHatK"] <= row["passAtK"] <= 1


def test_macro_average_is_a_mean_of_stimuli() -> None:
    assert (
        macro_average([{"passRate": 1.0}, {"passRate": 0.5}, {"passRate": None}], "passRate")
        == 0.75
    )
