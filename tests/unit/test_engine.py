"""The grading entry point (harness.grading.engine): graders run over one attempt, and verdicts
become the failures a result carries."""

from __future__ import annotations

import pytest

from harness.grading.context import GradingContext
from harness.grading.engine import (
    ASSERTION_FAILED,
    BELOW_THRESHOLD,
    GRADER_ERROR,
    JUDGE_UNCERTAIN,
    failures_for,
    grade_attempt,
)
from harness.grading.output import MustContain
from harness.grading.scoring import decide
from harness.grading.verdict import ERRORED, FAILED, PASSED, UNCERTAIN
from tests.support.graders import verdict_with as v


def test_failures_put_errors_first_then_uncertain_threshold_and_fails() -> None:
    verdicts = [v(FAILED, name="f"), v(UNCERTAIN, name="u"), v(ERRORED, name="e")]
    types = [f.type for f in failures_for(verdicts, decide(verdicts, 0.9))]
    assert types == [GRADER_ERROR, JUDGE_UNCERTAIN, ASSERTION_FAILED]
    failing = [v(FAILED, name="f", weight=2), v(PASSED)]
    failures = failures_for(failing, decide(failing, 0.5))
    assert [f.type for f in failures] == [BELOW_THRESHOLD, ASSERTION_FAILED]
    assert (failures[0].expected, failures[0].observed) == (0.5, pytest.approx(1 / 3))
    assert failures[1].details == {"assertion": "x", "name": "f"}


async def test_grade_attempt_passes_above_the_threshold_with_a_failed_grader() -> None:
    specs = [MustContain(must_contain=["a", "b", "c"]), MustContain(must_contain="z", weight=0.1)]
    graded = await grade_attempt(specs, GradingContext(output="a b c"), threshold=0.9)
    assert graded.decision.status == PASSED
    assert graded.failures == []
    assert [x.status for x in graded.verdicts] == [PASSED, FAILED]
