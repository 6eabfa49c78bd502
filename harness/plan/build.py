"""The plan: which attempts a run makes, each with a stable id. Cases x models x trials.

Ids are `case` for a plain run (one trial, no model), `case/trial` for trials without a model,
and `case/model/trial` for a sweep; trials count from 1. The order is trial-major (every case
and model of trial 1, then of trial 2, ...), so a run cut short by Ctrl+C or --fail-fast has
covered every model about equally.

Seeds depend on the case and the trial only, never on the model: trial n of a case gets the same
seed on every model, so models are compared on the same draws (a paired comparison).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import msgspec

from harness.attempt.spec import AttemptPlan
from harness.config.commands import python_element
from harness.config.containment import PathOutsideProject
from harness.config.schema import Case, RecordMode, Suite
from harness.config.yaml_source import display_path
from harness.errors import ConfigError, ConfigErrors, UsageError
from harness.plan.checks import model_name_problem

MODEL_PLACEHOLDER = "{model}"


# Structs, not dataclasses: ~50x cheaper to define, and every run defines them at start-up.
class Plan(msgspec.Struct, frozen=True):
    """Every attempt of a run, in the order they are scheduled."""

    attempts: list[AttemptPlan]
    models: tuple[str | None, ...]  # in first-seen order; (None,) when no model is set
    runs: int
    sweep: bool  # more than one trial or any model: ids, seeds and the layout say so

    def __len__(self) -> int:
        return len(self.attempts)


def build_plan(suite: Suite, *, models: Sequence[str] = (), runs: int | None = None) -> Plan:
    """Expand the suite's cases over models and trials.

    Args:
        suite: the loaded suite (cases already selected).
        models: from `--model`; when given they replace every case's and the suite's models.
        runs: from `--runs`; else the suite's `runs` (default 1). 0 plans nothing: validate only.

    Raises:
        ConfigError: the sweep would not compare models fairly, or `{model}` is used without one.
    """
    runs = suite.runs if runs is None else runs
    if runs < 0:
        raise UsageError(f"--runs must be 0 or more, got {runs}")
    none: tuple[str | None, ...] = (None,)
    per_case = {case.id: tuple(models) or case.models or none for case in suite.cases}
    all_models = tuple(dict.fromkeys(model for chosen in per_case.values() for model in chosen))
    sweep = runs > 1 or all_models != (None,)
    check_fair(suite, per_case, all_models)
    variants = {
        (case.id, model): with_model(case, model) for case in suite.cases for model in all_models
    }
    if suite.mode is RecordMode.replay:
        check_recorded(
            suite, [variants[case.id, model] for case in suite.cases for model in per_case[case.id]]
        )
    attempts = [
        _attempt(variants[case.id, model], model, trial if sweep else None)
        for trial in range(1, runs + 1)
        for case in suite.cases
        for model in per_case[case.id]
    ]
    return Plan(attempts=attempts, models=all_models, runs=runs, sweep=sweep)


def _attempt(case: Case, model: str | None, trial: int | None) -> AttemptPlan:
    return AttemptPlan(
        attempt_id=attempt_id(case.id, model, trial),
        case=case,
        model=model,
        trial=trial,
        seed=None if trial is None else seed_for(case.id, trial),
    )


def attempt_id(case_id: str, model: str | None, trial: int | None) -> str:
    """`case`, `case/trial` or `case/model/trial`: stable across runs of the same plan."""
    parts = [case_id] + ([model] if model is not None else [])
    return "/".join(parts + ([str(trial)] if trial is not None else []))


def seed_for(case_id: str, trial: int) -> int:
    """A 31-bit seed from the case id and trial number alone (sha256, so every platform and
    language gets the same number; 31 bits fit a signed int anywhere)."""
    digest = hashlib.sha256(f"{case_id}\x00{trial}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFF_FFFF


def with_model(case: Case, model: str | None) -> Case:
    """The case with `{model}` in its cassette path replaced by the model name.

    Raises:
        ConfigError: the path it makes leads out of the suite's project (a symlink named like
            the model, say); checked again where the cassette is opened.
    """
    path = case.cassette_path
    if model is None or path is None or MODEL_PLACEHOLDER not in str(path):
        return case
    final = Path(substitute(str(path), model))
    if case.project is not None:
        try:
            case.project.contain(final, f"for model {model!r}, cassette")
        except PathOutsideProject as exc:
            raise ConfigError(str(case.file), str(exc), line=case.line, field="cassette") from None
    return msgspec.structs.replace(case, cassette_path=final)


def substitute(text: str, model: str) -> str:
    # Plain replacement, not str.format: other braces in a command line are the user's.
    return text.replace(MODEL_PLACEHOLDER, model)


def agent_argv(argv: Sequence[str], model: str | None) -> tuple[str, ...]:
    """The agent command for one model: `{model}` placeholders filled in, and an element that
    is `{python}` replaced by the interpreter running harness (which has harness's SDK)."""
    elements = [python_element(element) for element in argv]
    if model is None:
        return tuple(elements)
    return tuple(substitute(element, model) for element in elements)


def parse_models(values: Iterable[str]) -> tuple[str, ...]:
    """`--model a,b --model c` -> (a, b, c); a bad or repeated name is a usage error."""
    models: list[str] = []
    for value in values:
        for name in value.split(","):
            if (problem := model_name_problem(name)) is not None:
                raise UsageError(f"--model: {problem}; give names separated by commas: a,b")
            if name in models:
                raise UsageError(f"--model: model {name!r} is given twice")
            models.append(name)
    return tuple(models)


def check_fair(
    suite: Suite, per_case: dict[str, tuple[str | None, ...]], models: tuple[str | None, ...]
) -> None:
    """A sweep compares models, so its variants must differ only in the model: the same cases
    (and so the same inputs, budgets and graders, which never depend on the model) and, when
    cassettes are per model, a cassette for every model or for none."""
    uses_placeholder = any(MODEL_PLACEHOLDER in element for element in suite.agent_command) or any(
        case.cassette_path is not None and MODEL_PLACEHOLDER in str(case.cassette_path)
        for case in suite.cases
    )
    if uses_placeholder and None in models:
        raise ConfigError(
            str(suite.file),
            "{model} is used in agent_command or a cassette path, but no model is set; "
            "add `models:` to the suite or pass --model",
        )
    if len(models) < 2:
        return
    for case in suite.cases:
        if set(per_case[case.id]) != set(models):
            raise ConfigError(
                str(case.file),
                f"case {case.id!r} runs on {_names(per_case[case.id])} while the sweep compares "
                f"{_names(models)}; every model must run every case for a fair comparison: "
                "give the case the same models, or choose them with --model",
                line=case.line,
                field="models",
            )
    if suite.mode is RecordMode.replay:
        for case in suite.cases:
            _check_cassettes(case, models)


def _check_cassettes(case: Case, models: tuple[str | None, ...]) -> None:
    if case.cassette_path is None or MODEL_PLACEHOLDER not in str(case.cassette_path):
        return
    paths = {model: with_model(case, model).cassette_path for model in models}
    missing = [model for model, path in paths.items() if path is None or not os.path.isfile(path)]
    if missing and len(missing) < len(models):
        shown = ", ".join(f"{model} ({paths[model]})" for model in missing)
        raise ConfigError(
            str(case.file),
            f"the cassette is missing for {shown} but present for the other models; a model "
            "without recorded tool results is not comparable: record it (--mode record) or "
            "leave the model out with --model",
            line=case.line,
            field="cassette",
        )


def check_recorded(suite: Suite, variants: Sequence[Case]) -> None:
    """Replay answers every tool call from the case's cassette: one that is missing would fail
    its case at the first call, after agents started. Found here, every one at once (also by
    `--runs 0` and `harness validate`)."""
    errors = []
    hint = (
        f"record it with `harness run {display_path(suite.dir)} --mode record` "
        "(a case's cassette is written when it reaches final_output; --mode auto replays what "
        "is recorded and records what is missing)"
    )
    seen: set[tuple[str, Path]] = set()
    for case in variants:
        path = case.cassette_path
        if path is None or (case.id, path) in seen or path.is_file():
            continue
        seen.add((case.id, path))
        what = "is a folder, not a cassette file" if path.is_dir() else "not found"
        errors.append(
            ConfigError(
                display_path(case.file),
                f"{display_path(path)} {what}; {hint}",
                line=case.cassette_line,
                field="cassette",
            )
        )
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ConfigErrors(errors)


def _names(models: Sequence[str | None]) -> str:
    return "[" + ", ".join("<none>" if model is None else model for model in models) + "]"
