"""`harness vally experiment run`: the same evals across variants (named `variants`, or the
cells of a `matrix`), resolved and checked at plan time. A variant's `overrides` merge over each
spec's `defaults` (and `environment`); the resolved configs of all variants are then compared
with the baseline's, and any difference at a JSON pointer outside `vary` is an error: a
comparison that drifted is not a comparison."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from harness.config import containment
from harness.config.yaml_source import Document, Problems, read_yaml
from harness.errors import ConfigError, UsageError
from harness.plan.convert import convert
from harness.vally.load import Loader
from harness.vally.model import EvalSpec
from harness.vally.project import Project
from harness.vally.spec import EvalConfig, ExperimentFile

OVERRIDABLE = frozenset(EvalConfig.__struct_fields__) | {"environment"}


@dataclass(frozen=True)
class VariantPlan:
    name: str
    overrides: Mapping[str, Any]
    specs: tuple[EvalSpec, ...]
    baseline: bool = False


@dataclass(frozen=True)
class ExperimentPlan:
    name: str
    file: Path
    vary: tuple[str, ...]
    variants: tuple[VariantPlan, ...]

    @property
    def baseline(self) -> VariantPlan:
        return next(variant for variant in self.variants if variant.baseline)


def load_experiment(path: Path, project: Project, only: str | None = None) -> ExperimentPlan:
    """Read, expand and check an experiment file: every problem is exit 2 before anything runs.

    Raises:
        ConfigError: a bad file, a drift outside `vary`, an eval that does not load.
        UsageError: --variant names no variant.
    """
    problems = Problems()
    document = read_yaml(path)
    experiment = convert(document, ExperimentFile, problems)
    problems.check()
    assert experiment is not None
    vary, variants, baseline = _expand(document, experiment)
    files = _eval_files(document, experiment)
    warnings: list[str] = []
    loader = Loader(project, problems, warnings)
    plans = []
    for name, overrides in variants.items():
        _check_overrides(document, name, overrides)
        specs = tuple(spec for file in files if (spec := loader.load(file, overrides)) is not None)
        plans.append(VariantPlan(name, overrides, specs, baseline=name == baseline))
    problems.check()
    _check_drift(document, vary, plans)
    if only is not None:
        if only not in variants:
            raise UsageError(f"--variant {only}: unknown variant; known: {', '.join(variants)}")
        plans = [plan for plan in plans if plan.name == only]
    return ExperimentPlan(experiment.name, path, tuple(vary), tuple(plans))


def _expand(
    document: Document, experiment: ExperimentFile
) -> tuple[list[str], dict[str, dict[str, Any]], str]:
    if (experiment.variants is None) == (experiment.matrix is None):
        raise document.error("give `variants` or `matrix`, one of them")
    if experiment.variants is not None:
        if not experiment.vary:
            raise document.error("list the JSON pointers variants may differ at", "$.vary")
        variants = {name: dict(v.overrides) for name, v in experiment.variants.items()}
        baseline = experiment.baseline
        if not isinstance(baseline, str) or baseline not in variants:
            raise document.error(f"must name a variant: {', '.join(variants)}", "$.baseline")
        vary = list(experiment.vary)
    else:
        if experiment.vary is not None:
            raise document.error("a matrix derives `vary` from its axes; remove it", "$.vary")
        vary, variants, baseline = _matrix(document, experiment)
    if len(variants) < 2:
        raise document.error("an experiment compares at least two variants")
    for i, pointer in enumerate(vary):
        if not pointer.startswith("/"):
            raise document.error(
                f"{pointer!r} is not a JSON pointer (/defaults/model)", f"$.vary[{i}]"
            )
    return vary, variants, baseline


def _matrix(
    document: Document, experiment: ExperimentFile
) -> tuple[list[str], dict[str, dict[str, Any]], str]:
    assert experiment.matrix is not None
    axes = []
    for axis_name, axis in experiment.matrix.items():
        values = axis.values if isinstance(axis.values, dict) else {str(v): v for v in axis.values}
        if not values:
            raise document.error("an axis needs values", f"$.matrix.{axis_name}.values")
        axes.append((axis_name, axis.path, values))
    variants: dict[str, dict[str, Any]] = {}
    for cell in itertools.product(
        *[[(n, p, label, v) for label, v in vals.items()] for n, p, vals in axes]
    ):
        name = ",".join(f"{axis}={label}" for axis, _, label, _ in cell)
        overrides: dict[str, Any] = {}
        for _, pointer, _, value in cell:
            _set_pointer(document, overrides, pointer, value)
        variants[name] = overrides
    chosen = experiment.baseline
    if not isinstance(chosen, dict):
        raise document.error("with a matrix, name one cell: {axis: label, ...}", "$.baseline")
    baseline = ",".join(f"{axis}={chosen.get(axis)}" for axis, _, _ in axes)
    if baseline not in variants:
        raise document.error(f"names no cell of the matrix ({baseline})", "$.baseline")
    return [pointer for _, pointer, _ in axes], variants, baseline


def _set_pointer(document: Document, overrides: dict[str, Any], pointer: str, value: Any) -> None:
    """An axis value as overrides: `/defaults/model` sets `model`, `/environment/x/y` sets
    `environment.x.y`."""
    parts = [part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:]]
    if len(parts) >= 2 and parts[0] in ("defaults", "config"):
        target, keys = overrides, parts[1:]
    elif parts and parts[0] == "environment" and len(parts) >= 2:
        target, keys = overrides.setdefault("environment", {}), parts[1:]
    else:
        raise document.error(f"axis path {pointer!r}: use /defaults/<key> or /environment/<key>")
    for key in keys[:-1]:
        target = target.setdefault(key, {})
    target[keys[-1]] = value


def _eval_files(document: Document, experiment: ExperimentFile) -> list[Path]:
    base = document.path.parent
    files = sorted({p for pattern in experiment.evals for p in base.glob(pattern) if p.is_file()})
    project = containment.Project.of_suite(base)
    for path in files:
        if project.outside(path):  # read only from inside the project
            raise document.error(project.escape_message("eval spec", path), "$.evals")
    if not files:
        raise document.error("the eval globs match no file (relative to the experiment)", "$.evals")
    return files


def _check_overrides(document: Document, name: str, overrides: Mapping[str, Any]) -> None:
    for key in overrides:
        if key not in OVERRIDABLE:
            valid = ", ".join(sorted(OVERRIDABLE))
            raise document.error(
                f"{key!r} cannot be overridden; valid: {valid}",
                f"$.variants.{name}.overrides.{key}",
            )


def _check_drift(document: Document, vary: Sequence[str], plans: Sequence[VariantPlan]) -> None:
    baseline = next(plan for plan in plans if plan.baseline)
    reference = {spec.file: spec.resolved for spec in baseline.specs}
    for plan in plans:
        for spec in plan.specs:
            for pointer in differences(reference.get(spec.file, {}), spec.resolved):
                if not any(pointer == v or pointer.startswith(v.rstrip("/") + "/") for v in vary):
                    raise ConfigError(
                        document.shown,
                        f"variant {plan.name!r} differs from baseline {baseline.name!r} at "
                        f"{pointer} in {spec.shown}, outside vary [{', '.join(vary)}]; add the "
                        "path to vary or make the variants agree",
                        field="vary",
                    )


def differences(a: Any, b: Any, at: str = "") -> list[str]:
    """The JSON pointers where two JSON values differ (a whole subtree when a side lacks it)."""
    if isinstance(a, dict) and isinstance(b, dict):
        found = []
        for key in sorted(a.keys() | b.keys()):
            escaped = str(key).replace("~", "~0").replace("/", "~1")
            found += differences(a.get(key), b.get(key), f"{at}/{escaped}")
        return found
    return [] if a == b else [at or "/"]


def provenance(
    experiment: ExperimentPlan, variant: VariantPlan, spec: EvalSpec, run_id: str
) -> dict[str, Any]:
    """The `experiment` block of each record: which run, variant and exact inputs."""
    return {
        "name": experiment.name,
        "runId": run_id,
        "variant": variant.name,
        "baseline": variant.baseline,
        "evalFile": spec.shown,
        "evalHash": hashlib.sha256(spec.file.read_bytes()).hexdigest(),
        "configHash": hashlib.sha256(
            msgspec.json.encode(spec.resolved, order="sorted")
        ).hexdigest(),
        "overrides": dict(variant.overrides),
    }
