"""harness.plan.build: cases x models x trials, ids, seeds, placeholders, fairness, completeness."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.config.schema import Suite
from harness.errors import ConfigError, UsageError
from harness.plan.build import attempt_id, build_plan, parse_models, seed_for
from tests.support.suites import suite_from


def ids(suite: Suite, **kwargs: Any) -> list[str]:
    return [attempt.attempt_id for attempt in build_plan(suite, **kwargs).attempts]


def test_a_plain_run_keeps_case_ids_and_sends_nothing_new(tmp_path: Path) -> None:
    suite = suite_from(tmp_path, [{"id": "b", "input": 1}, {"id": "a", "input": 2}])
    plan = build_plan(suite)
    assert [a.attempt_id for a in plan.attempts] == ["a", "b"]  # case files sort by name
    assert not plan.sweep and plan.models == (None,) and plan.runs == 1
    assert all(a.model is None and a.trial is None and a.seed is None for a in plan.attempts)


def test_models_times_trials_trial_major(tmp_path: Path) -> None:
    suite = suite_from(tmp_path, [{"id": "t1", "input": 1}, {"id": "t2", "input": 2}])
    assert ids(suite, models=("m1", "m2"), runs=2) == [
        "t1/m1/1",
        "t1/m2/1",
        "t2/m1/1",
        "t2/m2/1",
        "t1/m1/2",
        "t1/m2/2",
        "t2/m1/2",
        "t2/m2/2",
    ]
    assert ids(suite, runs=2) == ["t1/1", "t2/1", "t1/2", "t2/2"]
    assert ids(suite, models=("m1",)) == ["t1/m1/1", "t2/m1/1"]
    assert ids(suite, runs=0) == []


def test_model_precedence_cli_over_case_over_suite(tmp_path: Path) -> None:
    suite = suite_from(
        tmp_path,
        [{"id": "t1", "input": 1}, {"id": "t2", "input": 2, "models": ["x", "y"]}],
        models=["y", "x"],
        runs=3,
    )
    plan = build_plan(suite)
    assert plan.runs == 3 and set(plan.models) == {"x", "y"}
    assert ids(suite, models=("z",), runs=1) == ["t1/z/1", "t2/z/1"]


def test_seeds_depend_on_case_and_trial_only(tmp_path: Path) -> None:
    suite = suite_from(tmp_path, [{"id": "t1", "input": 1}])
    plan = build_plan(suite, models=("m1", "m2"), runs=3)
    seeds = {(a.model, a.trial): a.seed for a in plan.attempts}
    for trial in (1, 2, 3):
        assert seeds["m1", trial] == seeds["m2", trial] == seed_for("t1", trial)
    assert len({seeds["m1", trial] for trial in (1, 2, 3)}) == 3
    # The documented formula, so an agent in any language can check it.
    digest = hashlib.sha256(b"t1\x002").digest()
    assert seed_for("t1", 2) == int.from_bytes(digest[:4], "big") & 0x7FFF_FFFF
    assert build_plan(suite, models=("m1", "m2"), runs=3).attempts == plan.attempts


def test_model_placeholder_in_cassette_paths(tmp_path: Path) -> None:
    for model in ("m1", "m2"):
        (tmp_path / "cassettes" / model).mkdir(parents=True)
        (tmp_path / "cassettes" / model / "t1.jsonl").write_text("")
    suite = suite_from(
        tmp_path, [{"id": "t1", "input": 1, "cassette": "cassettes/{model}/t1.jsonl"}]
    )
    plan = build_plan(suite, models=("m1", "m2"))
    paths = {a.model: a.case.cassette_path for a in plan.attempts}
    assert paths == {
        "m1": tmp_path / "cassettes" / "m1" / "t1.jsonl",
        "m2": tmp_path / "cassettes" / "m2" / "t1.jsonl",
    }


def test_unfair_sweeps_are_refused(tmp_path: Path) -> None:
    suite = suite_from(
        tmp_path / "cases",
        [{"id": "t1", "input": 1}, {"id": "t2", "input": 2, "models": ["a"]}],
        models=["a", "b"],
    )
    with pytest.raises(ConfigError, match=r"t2\.yaml:1: models: case 't2' runs on \[a\]"):
        build_plan(suite)
    assert len(build_plan(suite, models=("a", "b"))) == 4  # --model makes it fair

    (tmp_path / "c" / "cassettes" / "a").mkdir(parents=True)
    (tmp_path / "c" / "cassettes" / "a" / "t1.jsonl").write_text("")
    suite = suite_from(
        tmp_path / "c", [{"id": "t1", "input": 1, "cassette": "cassettes/{model}/t1.jsonl"}]
    )
    with pytest.raises(ConfigError, match=r"t1\.yaml:1: cassette: the cassette is missing for b"):
        build_plan(suite, models=("a", "b"))
    assert len(build_plan(suite, models=("a",))) == 1

    suite = suite_from(tmp_path / "p", [{"id": "t1", "input": 1}], agent_command=["x", "{model}"])
    with pytest.raises(ConfigError, match=r"\{model\} is used .* no model is set"):
        build_plan(suite)


def test_parse_models() -> None:
    assert parse_models(["a,b", "openai/gpt-5"]) == ("a", "b", "openai/gpt-5")
    for bad in (["a,,b"], ["a", "a"], ["../x"], [" a"]):
        with pytest.raises(UsageError, match="--model"):
            parse_models(bad)


@given(
    st.text(min_size=1, max_size=20).filter(lambda s: "/" not in s),
    st.one_of(st.none(), st.text(min_size=1, max_size=10)),
    st.one_of(st.none(), st.integers(1, 1000)),
)
def test_attempt_ids_start_with_the_case(
    case_id: str, model: str | None, trial: int | None
) -> None:
    value = attempt_id(case_id, model, trial)
    assert value.split("/")[0] == case_id
    assert value.endswith(str(trial)) if trial is not None else True
