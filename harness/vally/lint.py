"""`harness vally lint`'s checks, named by Vally's codes. Load-time problems (unknown grader types
and keys with a "did you mean", invalid config, missing environment files, duplicate stimuli,
bad constraints) come from loading; this adds what needs the whole spec: scoring weights that
name no grader, two graders of one type in a stimulus, a rubric no LLM judge reads."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from harness.config.yaml_source import Problems, read_yaml
from harness.errors import ConfigError
from harness.grading.vally.catalogue import LLM_GRADERS
from harness.grading.verdict import tag_of
from harness.vally.graders import did_you_mean
from harness.vally.load import Loader
from harness.vally.model import EvalSpec
from harness.vally.project import discover, load_project

ERROR = "error"
WARNING = "warning"

_CODES = [
    (re.compile(r"unknown grader type"), "unknown-grader-type"),
    (re.compile(r"graders\[\d+\]"), "invalid-grader-config"),
    (re.compile(r"files\[\d+\]\.src"), "environment-file-not-found"),
    (re.compile(r"duplicate stimulus name"), "duplicate-stimulus-name"),
    (re.compile(r"constraints"), "invalid-constraint-value"),
    (re.compile(r"unknown key, ignored"), "unknown-key"),
]


@dataclass(frozen=True)
class Diagnostic:
    severity: str  # error | warning
    code: str
    text: str  # `file:line: field: message`

    def render(self) -> str:
        return f"{self.severity}[{self.code}]: {self.text}"


def code_of(text: str) -> str:
    for pattern, code in _CODES:
        if pattern.search(text):
            return code
    return "invalid-eval-spec"


def from_error(error: ConfigError) -> list[Diagnostic]:
    """A load error (one problem a line) as error diagnostics."""
    return [Diagnostic(ERROR, code_of(line), line) for line in str(error).splitlines()]


def from_warning(text: str) -> Diagnostic:
    return Diagnostic(WARNING, code_of(text), text)


def check_spec(spec: EvalSpec) -> list[Diagnostic]:
    """The checks that need the whole loaded spec."""
    document = read_yaml(spec.file)
    found: list[Diagnostic] = []
    names: set[str] = set()
    for stimulus in spec.stimuli:
        graders = [*stimulus.graders, *stimulus.pairwise]
        own = [g for g in graders if not (g.name or "").startswith("constraints.")]
        types = [tag_of(grader) for grader in own]
        names.update(types)
        names.update(grader.name for grader in graders if grader.name)
        at = f"{spec.shown}:{stimulus.line}: stimuli.{stimulus.name}"
        for kind, count in Counter(types).items():
            if count > 1:
                message = f"{at}: {count} graders of type {kind!r} share one scoring weight key"
                found.append(Diagnostic(WARNING, "duplicate-grader-type-in-stimulus", message))
        if stimulus.rubric and not LLM_GRADERS & set(types):
            message = f"{at}: rubric set but no LLM judge grader (prompt, panel, pairwise) reads it"
            found.append(Diagnostic(WARNING, "rubric-without-llm-judge", message))
    for key in spec.weights:
        if key not in names:
            line = document.line_of(f"$.scoring.weights.{key}")
            hint = did_you_mean(key, sorted(names))
            where = f"{spec.shown}:{line}: scoring.weights.{key}"
            message = f"{where}: names no grader used in any stimulus{hint}"
            found.append(Diagnostic(ERROR, "invalid-scoring-weight-key", message))
    return found


def lint_files(folder: Path | None, specs: list[Path], *, cwd: Path) -> list[Diagnostic]:
    """Every diagnostic of the named specs, or of those discovered under `folder` (or the
    project's `paths.evals`): each file loaded on its own, so one broken file hides nothing."""
    problems = Problems()
    project = load_project(folder or cwd, problems)
    found = [d for error in problems.errors for d in from_error(error)]
    files = specs or discover(project)
    if not files:
        found.append(Diagnostic(ERROR, "no-eval-specs", f"no eval specs found under {project.dir}"))
    for path in files:
        own, warnings = Problems(), list[str]()
        spec = Loader(project, own, warnings).load(path)
        found += [d for error in own.errors for d in from_error(error)]
        found += [from_warning(text) for text in warnings]
        if spec is not None and not own.errors:
            found += check_spec(spec)
    return found
