"""harness.storage.result_index: the orders and the completeness a run reads back from
results.jsonl equal what sorting and reconciling a list of the same results gives."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path
from typing import Any

import msgspec
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.aggregate.completeness import Completeness
from harness.aggregate.result_index import ResultIndex, check_complete
from harness.config.schema import Suite
from harness.kinds import Outcome
from harness.plan.build import Plan, build_plan
from harness.plan.load import load_suite
from harness.results import INFRA_ERROR, AttemptResult
from tests.support.suites import suite_from

# Ids with `/` make attempt ids sort across cases and even collide ("a/m/1" on model "x" vs "a"
# on model "m/1/x"): the index must still agree with a plain sort and a set of ids.
CASE_IDS = ("a", "a/m/1", "a-b", "a/x", "b", "1", "10", "a/m")
MODELS = ("m", "m/1", "x", "m/1/x")


@functools.cache
def _suite() -> Suite:
    root = Path(tempfile.mkdtemp(prefix="result-index-"))
    (root / "cases").mkdir()
    suite = {"suite_name": "index", "agent_command": ["sh", "a.sh"], "mode": "replay"}
    suite.update(cases_path="cases", tool_registry=[])
    (root / "suite.yaml").write_text(yaml.safe_dump(suite))
    for number, case_id in enumerate(CASE_IDS):
        (root / "cases" / f"c{number}.yaml").write_text(yaml.safe_dump({"id": case_id, "input": 1}))
    return load_suite(root)


def _plan(cases: list[str], models: list[str], runs: int) -> Plan:
    suite = _suite()
    chosen = msgspec.structs.replace(suite, cases=[c for c in suite.cases if c.id in cases])
    return build_plan(chosen, models=tuple(models), runs=runs)


def reference_complete(plan: Plan, results: list[AttemptResult]) -> Completeness:
    """check_complete as it was: a set of the planned ids."""
    planned = {attempt.attempt_id for attempt in plan.attempts}
    seen: set[str] = set()
    duplicated, unplanned = [], []
    for result in results:
        key = result.attempt_id or result.case_id
        if key not in planned:
            unplanned.append(key)
        elif key in seen:
            duplicated.append(key)
        seen.add(key)
    return Completeness(
        planned=len(plan.attempts),
        final=len(results),
        missing=tuple(a.attempt_id for a in plan.attempts if a.attempt_id not in seen),
        duplicated=tuple(duplicated),
        unplanned=tuple(unplanned),
        lost=sum(r.outcome == INFRA_ERROR for r in results),
    )


@st.composite
def runs_and_results(draw: Any) -> tuple[Plan, list[AttemptResult]]:
    cases = draw(st.lists(st.sampled_from(CASE_IDS), min_size=1, max_size=4, unique=True))
    models = draw(st.lists(st.sampled_from(MODELS), max_size=3, unique=True))
    plan = _plan(cases, models, draw(st.integers(1, 12)))
    chosen = draw(st.lists(st.sampled_from(plan.attempts), max_size=3 * len(plan.attempts)))
    results = [
        AttemptResult(
            case_id=a.case.id,
            attempt_id=a.attempt_id,
            status="pass",
            wall_ms=0,
            model=a.model,
            trial=a.trial,
            outcome=draw(st.sampled_from(["passed", INFRA_ERROR])),
        )
        for a in chosen
    ]
    # Results a bug could write: unplanned ids, fields that name another attempt, no id.
    odd = st.builds(
        AttemptResult,
        case_id=st.sampled_from([*CASE_IDS, "zz"]),
        attempt_id=st.sampled_from(["", "zz/9", *(a.attempt_id for a in plan.attempts[:3])]),
        status=st.just("fail"),
        wall_ms=st.just(0),
        model=st.sampled_from([None, *MODELS]),
        trial=st.sampled_from([None, 0, 1, 2, 99]),
    )
    for extra in draw(st.lists(odd, max_size=4)):
        results.insert(draw(st.integers(0, len(results))), extra)
    return plan, results


def _indexed(plan: Plan, results: list[AttemptResult]) -> tuple[ResultIndex, list[int]]:
    index = ResultIndex(plan)
    offsets = [100 * number for number in range(len(results))]  # as in the file: increasing
    for result, offset in zip(results, offsets, strict=True):
        index.add(result, offset)
    return index, offsets


@settings(max_examples=300, deadline=None)
@given(runs_and_results())
def test_orders_match_sorting_the_list(case: tuple[Plan, list[AttemptResult]]) -> None:
    plan, results = case
    index, offsets = _indexed(plan, results)
    by_offset = list(zip(offsets, results, strict=True))

    def summary_key(item: tuple[int, AttemptResult]) -> tuple[str, str, int]:
        result = item[1]
        return (result.case_id, result.model or "", result.trial or 0)

    def junit_key(item: tuple[int, AttemptResult]) -> tuple[str, str]:
        result = item[1]
        return (result.model or "", result.attempt_id or result.case_id)

    # sorted() is stable: equal keys keep the order results were appended in.
    assert list(index.summary_offsets()) == [o for o, _ in sorted(by_offset, key=summary_key)]
    assert list(index.junit_offsets()) == [o for o, _ in sorted(by_offset, key=junit_key)]


@settings(max_examples=300, deadline=None)
@given(runs_and_results())
def test_completeness_matches_a_set_of_ids(case: tuple[Plan, list[AttemptResult]]) -> None:
    plan, results = case
    index, _ = _indexed(plan, results)
    assert index.completeness(plan) == reference_complete(plan, results)
    assert check_complete(plan, results) == reference_complete(plan, results)


@settings(max_examples=200, deadline=None)
@given(runs_and_results())
def test_last_result_of_a_trial_and_planned_attempts(
    case: tuple[Plan, list[AttemptResult]],
) -> None:
    plan, results = case
    index, offsets = _indexed(plan, results)
    last: dict[tuple[str, str | None, int | None], list[int]] = {}
    for offset, result in zip(offsets, results, strict=True):
        last.setdefault((result.case_id, result.model, result.trial), []).append(offset)
    assert index.last_offsets() == {key: max(o) for key, o in last.items() if len(o) > 1}
    by_id = {attempt.attempt_id: attempt for attempt in plan.attempts}  # the last one wins
    for result in results:
        found = index.planned_attempt(result.attempt_id, result.case_id, result.model, result.trial)
        attempt = by_id.get(result.attempt_id)
        assert found == (None if attempt is None else (attempt.case, attempt.model, attempt.trial))


def test_colliding_ids_count_as_one_attempt() -> None:
    plan = _plan(["a", "a/m/1"], ["m/1/x", "x"], 1)
    ids = [a.attempt_id for a in plan.attempts]
    assert ids.count("a/m/1/x/1") == 2  # case "a/m/1" on "x", case "a" on "m/1/x"
    results = [
        AttemptResult(case_id=a.case.id, attempt_id=a.attempt_id, status="pass", wall_ms=0,
                      model=a.model, trial=a.trial)
        for a in plan.attempts
    ]  # fmt: skip
    done = _indexed(plan, results)[0].completeness(plan)
    assert done.duplicated == ("a/m/1/x/1",) and not done.complete
    assert done == reference_complete(plan, results)


def _result(attempt: str, outcome: Outcome = "passed") -> AttemptResult:
    return AttemptResult(
        case_id=attempt.split("/")[0], status="pass", wall_ms=1, attempt_id=attempt, outcome=outcome
    )


def test_completeness(tmp_path: Path) -> None:
    suite = suite_from(tmp_path, [{"id": "t1", "input": 1}])
    plan = build_plan(suite, models=("a", "b"), runs=2)
    every = [_result(a.attempt_id) for a in plan.attempts]
    done = check_complete(plan, every)
    assert done.complete and done.planned == 4 and done.lost == 0
    assert done.sentence() == "every planned attempt (4) has exactly one final result"

    lost = check_complete(plan, [*every[:3], _result(every[3].attempt_id, "infra_error")])
    assert lost.complete and lost.lost == 1
    assert lost.sentence().endswith("; 1 of 4 trials lost to infrastructure errors")

    broken = check_complete(plan, [every[0], every[0], _result("t9/a/1")])
    assert not broken.complete
    assert broken.missing == ("t1/b/1", "t1/a/2", "t1/b/2")
    assert broken.duplicated == ("t1/a/1",) and broken.unplanned == ("t9/a/1",)
    assert broken.to_json()["missing"] == 3
