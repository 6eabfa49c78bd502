"""A bug that raises out of one attempt costs that attempt only: the pool records it and goes on."""

from __future__ import annotations

from pathlib import Path

from harness.attempt.context import AttemptOutput
from harness.attempt.spec import AttemptPlan
from harness.attempt.trace import Trace
from harness.config.schema import Budgets, Case
from harness.execute.pool import Pool, PoolSettings
from harness.results import AttemptResult


def _plan(case_id: str) -> AttemptPlan:
    case = Case(
        id=case_id,
        input={},
        cassette_path=None,
        file=Path("cases") / f"{case_id}.yaml",
        line=1,
        description=None,
        assertions=(),
        budgets=Budgets(),
        normalization=None,
        schemas={},
    )
    return AttemptPlan(attempt_id=case_id, case=case)


async def test_an_exception_in_one_attempt_becomes_its_internal_error() -> None:
    async def run_one(plan: AttemptPlan, try_number: int) -> AttemptOutput:
        if plan.attempt_id == "boom":
            raise KeyError("missing")
        result = AttemptResult(
            case_id=plan.case.id,
            attempt_id=plan.attempt_id,
            status="pass",
            wall_ms=1,
            outcome="passed",
        )
        return AttemptOutput(result=result, trace=Trace(plan.case.id))

    seen: list[AttemptResult] = []
    pool = Pool(PoolSettings(workers=2))
    await pool.run(
        [_plan("a"), _plan("boom"), _plan("b")], run_one, lambda output: seen.append(output.result)
    )

    by_id = {result.attempt_id: result for result in seen}
    assert sorted(by_id) == ["a", "b", "boom"]
    broken = by_id["boom"]
    assert broken.status == "error"
    assert broken.outcome == "infra_error"
    assert broken.failures[0].type == "internal_error"
    assert "KeyError" in broken.failures[0].message
    assert "a bug" in broken.failures[0].message
    assert by_id["a"].status == by_id["b"].status == "pass"
