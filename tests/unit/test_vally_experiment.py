"""Experiment files (harness.vally.experiment): variants and matrix cells expanded, overrides
merged over each spec's defaults, and any drift outside `vary` refused at plan time."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config.yaml_source import Problems
from harness.errors import ConfigError, UsageError
from harness.vally.experiment import differences, load_experiment
from harness.vally.project import load_project

SPEC = "defaults: {runs: 2, model: base}\nstimuli:\n  - {name: s, prompt: p}\n"


def project(tmp_path: Path, experiment: str) -> Path:
    (tmp_path / "evals").mkdir()
    (tmp_path / "evals" / "eval.yaml").write_text(SPEC)
    path = tmp_path / "experiment.yaml"
    path.write_text(experiment)
    return path


def plan(path: Path, only: str | None = None):  # type: ignore[no-untyped-def]
    return load_experiment(path, load_project(path.parent, Problems()), only)


def test_variants_override_defaults(tmp_path: Path) -> None:
    path = project(
        tmp_path,
        "name: x\nevals: [evals/*.yaml]\nvary: [/defaults/model]\nbaseline: a\n"
        "variants:\n  a: {overrides: {model: m1}}\n  b: {overrides: {model: m2}}\n",
    )
    loaded = plan(path)
    assert [(v.name, v.baseline, v.specs[0].model) for v in loaded.variants] == [
        ("a", True, "m1"),
        ("b", False, "m2"),
    ]
    assert [v.name for v in plan(path, "b").variants] == ["b"]
    with pytest.raises(UsageError, match="--variant c: unknown variant; known: a, b"):
        plan(path, "c")


def test_drift_outside_vary_is_refused(tmp_path: Path) -> None:
    path = project(
        tmp_path,
        "name: x\nevals: [evals/*.yaml]\nvary: [/defaults/model]\nbaseline: a\n"
        "variants:\n  a: {overrides: {model: m1}}\n"
        "  b: {overrides: {model: m2, environment: {commands: [echo]}}}\n",
    )
    with pytest.raises(ConfigError, match=r"at /environment/commands in .*, outside vary"):
        plan(path)


def test_a_matrix_is_a_cross_product(tmp_path: Path) -> None:
    path = project(
        tmp_path,
        "name: x\nevals: [evals/*.yaml]\nbaseline: {model: one, runs: r1}\nmatrix:\n"
        "  model: {path: /defaults/model, values: {one: m1, two: m2}}\n"
        "  runs: {path: /defaults/runs, values: {r1: 1, r3: 3}}\n",
    )
    loaded = plan(path)
    cells = {v.name: (v.specs[0].model, v.specs[0].runs) for v in loaded.variants}
    assert cells == {
        "model=one,runs=r1": ("m1", 1),
        "model=one,runs=r3": ("m1", 3),
        "model=two,runs=r1": ("m2", 1),
        "model=two,runs=r3": ("m2", 3),
    }
    assert loaded.baseline.name == "model=one,runs=r1"
    assert loaded.vary == ("/defaults/model", "/defaults/runs")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("vary: [/defaults/model]\nbaseline: a\nvariants: {a: {}}\n", "at least two variants"),
        ("baseline: a\nvariants: {a: {}, b: {}}\n", "list the JSON pointers"),
        ("vary: [/x]\nbaseline: z\nvariants: {a: {}, b: {}}\n", "must name a variant"),
        (
            "vary: [/x]\nbaseline: a\nvariants: {a: {overrides: {stimuli: []}}, b: {}}\n",
            "'stimuli' cannot be overridden",
        ),
    ],
)
def test_bad_experiment_files(tmp_path: Path, text: str, message: str) -> None:
    path = project(tmp_path, f"name: x\nevals: [evals/*.yaml]\n{text}")
    with pytest.raises(ConfigError, match=message):
        plan(path)


def test_differences_are_json_pointers() -> None:
    a = {"defaults": {"model": "a", "runs": 1}, "environment": {"x/y": [1]}}
    b = {"defaults": {"model": "b", "runs": 1}, "environment": {"x/y": [2]}}
    assert differences(a, b) == ["/defaults/model", "/environment/x~1y"]
