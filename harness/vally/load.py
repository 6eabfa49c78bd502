"""Load one Vally eval spec: YAML to structs with `file:line: field: what is wrong` errors,
then every check msgspec cannot make, and the resolved EvalSpec. Unknown keys outside a
grader's config are warnings (Vally tolerates them, and specs in the wild carry extras such as
`expect_activation`); inside one they are errors, as in Vally's lint."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from harness.config.yaml_source import Document, Problems, read_yaml
from harness.grading.vally.catalogue import COMPARE_ONLY
from harness.grading.verdict import tag_of
from harness.plan.convert import convert
from harness.vally import environments
from harness.vally.graders import GraderBuilder, constraint_graders, did_you_mean
from harness.vally.model import Environment, EvalSpec, Stimulus
from harness.vally.project import Project
from harness.vally.spec import EvalConfig, EvalSpecFile, StimulusSpec

# the config layer's wording, with or without its own "did you mean" before the list
_UNKNOWN = re.compile(r"unknown key; (?:did you mean '[^']*'\? )?valid keys: (.*)")
_IN_GRADER = re.compile(r"stimuli\[\d+\]\.graders\[\d+\]\.[^.\[]+$")


class Loader:
    """Loads eval specs of one project, collecting every problem and warning."""

    def __init__(self, project: Project, problems: Problems, warnings: list[str]) -> None:
        self.project = project
        self.problems = problems
        self.warnings = warnings

    def load(self, path: Path, overrides: Mapping[str, Any] | None = None) -> EvalSpec | None:
        document = self.problems.attempt(lambda: read_yaml(path))
        if document is None:
            return None
        if overrides:
            document = with_overrides(document, overrides)
        spec = self._convert(document)
        if spec is None:
            return None
        return self._resolve(document, spec)

    def _convert(self, document: Document) -> EvalSpecFile | None:
        found = Problems()
        spec = convert(document, EvalSpecFile, found)
        for error in found.errors:
            unknown = _UNKNOWN.fullmatch(error.message)
            if unknown is None or (error.field and _IN_GRADER.fullmatch(error.field)):
                self.problems.add(error)
                continue
            key = (error.field or "").rsplit(".", 1)[-1]
            hint = did_you_mean(key, unknown[1].split(", "))
            error.message = f"unknown key, ignored as Vally ignores it{hint}"
            self.warnings.append(error.render())
        return spec

    def _resolve(self, document: Document, spec: EvalSpecFile) -> EvalSpec | None:
        config, config_path = self._config(document, spec)
        root = self._root_environment(document, spec)
        weights = spec.scoring.weights if spec.scoring else {}
        builder = GraderBuilder(document, document.path.parent, self.problems, weights)
        tags = tag_values(spec.tags)
        stimuli = [
            self._stimulus(document, stimulus, i, root, builder, tags)
            for i, stimulus in enumerate(spec.stimuli)
        ]
        self._check(document, spec, config, config_path)
        timeout = None
        if config.timeout is not None:
            where = self._where(document, config_path, document.path.parent)
            timeout = environments.duration_seconds(config.timeout, where, "timeout")
        executor = config.executor
        return EvalSpec(
            name=spec.name or default_name(document.path),
            file=document.path,
            shown=document.shown,
            stimuli=tuple(stimuli),
            runs=1 if config.runs is None else config.runs,
            timeout_seconds=timeout,
            model=config.model,
            judge_model=config.judge_model,
            judge_reasoning_effort=config.judge_reasoning_effort,
            executor=executor if isinstance(executor, str | None) else executor.name,
            executor_config={} if isinstance(executor, str | None) else dict(executor.config),
            threshold=spec.scoring.threshold if spec.scoring else None,
            weights=dict(weights),
            type=spec.type,
            description=spec.description,
            resolved={
                "defaults": msgspec.to_builtins(config),
                "environment": msgspec.to_builtins(spec.environment or {}),
            },
        )

    def _config(self, document: Document, spec: EvalSpecFile) -> tuple[EvalConfig, str]:
        if spec.config is not None and spec.defaults is not None:
            message = "give `defaults` or `config` (its older name), not both"
            self.problems.add(document.error(message, "$.defaults"))
        if spec.defaults is not None:
            return spec.defaults, "$.defaults"
        return spec.config or EvalConfig(), "$.config"

    def _check(
        self, document: Document, spec: EvalSpecFile, config: EvalConfig, config_path: str
    ) -> None:
        if config.runs is not None and config.runs < 0:
            message = f"must be 0 or more, got {config.runs} (0 validates only)"
            self.problems.add(document.error(message, f"{config_path}.runs"))
        threshold = spec.scoring.threshold if spec.scoring else None
        if threshold is not None and not 0 <= threshold <= 1:
            message = f"must be between 0 and 1, got {threshold}"
            self.problems.add(document.error(message, "$.scoring.threshold"))
        for key, weight in (spec.scoring.weights if spec.scoring else {}).items():
            if not weight >= 0:
                message = f"must be 0 or more, got {weight}"
                self.problems.add(document.error(message, f"$.scoring.weights.{key}"))
        if not spec.stimuli:
            self.problems.add(document.error("list at least one stimulus", "$.stimuli"))
        first: dict[str, int] = {}
        for i, stimulus in enumerate(spec.stimuli):
            if (seen := first.setdefault(stimulus.name, i)) != i:
                line = document.line_of(f"$.stimuli[{seen}].name")
                message = f"duplicate stimulus name {stimulus.name!r} (first on line {line})"
                self.problems.add(document.error(message, f"$.stimuli[{i}].name"))

    def _where(self, document: Document, path: str, base_dir: Path) -> environments.Where:
        return environments.Where(document, path, base_dir, self.problems, self.warnings)

    def _root_environment(self, document: Document, spec: EvalSpecFile) -> Environment:
        return self._environment(document, spec.environment, "$.environment") or Environment()

    def _environment(self, document: Document, value: Any, path: str) -> Environment | None:
        if value is None:
            return None
        if isinstance(value, str):
            named = self.project.environment(value, self.problems, self.warnings)
            if named is None:
                known = ", ".join(sorted(self.project.environment_names())) or "none"
                message = f"unknown environment {value!r}; named in .vally.yaml: {known}"
                self.problems.add(document.error(message, path))
            return named
        return environments.resolve(value, self._where(document, path, document.path.parent))

    def _stimulus(
        self,
        document: Document,
        spec: StimulusSpec,
        i: int,
        root: Environment,
        builder: GraderBuilder,
        tags: dict[str, tuple[str, ...]],
    ) -> Stimulus:
        path = f"$.stimuli[{i}]"
        own = self._environment(document, spec.environment, f"{path}.environment")
        self._check_constraints(document, spec, path)
        graders = builder.build(spec.graders, f"{path}.graders")
        graders += constraint_graders(spec.constraints, builder.weights)
        return Stimulus(
            name=spec.name,
            prompt=spec.prompt,
            environment=environments.merge(root, own),
            graders=tuple(g for g in graders if tag_of(g) not in COMPARE_ONLY),
            pairwise=tuple(g for g in graders if tag_of(g) in COMPARE_ONLY),
            rubric=(spec.rubric,) if isinstance(spec.rubric, str) else tuple(spec.rubric),
            constraints=spec.constraints,
            tags={**tags, **tag_values(spec.tags)},
            description=spec.description,
            line=document.line_of(path),
        )

    def _check_constraints(self, document: Document, spec: StimulusSpec, path: str) -> None:
        constraints = spec.constraints
        if constraints is None:
            return
        for name in ("max_turns", "max_tokens"):
            value = getattr(constraints, name)
            if value is not None and value < 1:
                message = f"must be 1 or more, got {value}"
                self.problems.add(document.error(message, f"{path}.constraints.{name}"))
        overlap = sorted(set(constraints.expect_tools) & set(constraints.reject_tools))
        if overlap:
            message = f"tools both expected and rejected: {', '.join(overlap)}"
            self.problems.add(document.error(message, f"{path}.constraints.reject_tools"))


def tag_values(tags: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Tags as strings: `{priority: p0, area: [a, b], fast: true}` -> p0 / (a, b) / true."""

    def text(value: Any) -> str:
        return str(value).lower() if isinstance(value, bool) else str(value)

    return {
        key: tuple(map(text, value)) if isinstance(value, list) else (text(value),)
        for key, value in tags.items()
    }


def default_name(path: Path) -> str:
    """An eval without `name`: its folder's name for `eval.yaml`, else the file's stem
    (`auth.eval.yaml` -> `auth`)."""
    if path.name in ("eval.yaml", "eval.yml"):
        return path.parent.name or "eval"
    return path.name.split(".")[0] or path.stem


def with_overrides(document: Document, overrides: Mapping[str, Any]) -> Document:
    """The spec with an experiment variant's overrides merged over its `defaults` (or
    `config`) and its root `environment`."""
    value = dict(document.value) if isinstance(document.value, dict) else {}
    key = "defaults" if "defaults" in value else "config"
    config = {k: v for k, v in overrides.items() if k != "environment"}
    if config:
        value[key] = {**(value.get(key) or {}), **config}
    if "environment" in overrides:
        base = value.get("environment")
        env = overrides["environment"]
        value["environment"] = {**base, **env} if isinstance(base, dict) else env
    return msgspec.structs.replace(document, value=value)
