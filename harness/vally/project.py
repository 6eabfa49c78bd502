"""A Vally project: `.vally.yaml` (found in the cwd or a parent folder) and `harness.yaml`
beside it: eval discovery (`paths`), suites, named environments, and what harness adds,
`executors` (agents that play Vally's executors) and the `judge` command."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path

from harness.config import containment
from harness.config.yaml_source import Document, Problems, read_yaml
from harness.errors import ConfigError
from harness.plan.convert import convert
from harness.vally import environments
from harness.vally.model import Environment
from harness.vally.spec import ExecutorSpec, HarnessFile, JudgeSpec, Paths, ProjectFile, Suite

PROJECT_FILE = ".vally.yaml"
HARNESS_FILE = "harness.yaml"
SKIPPED_DIRS = frozenset({".git", "node_modules", ".venv", "__pycache__"})


@dataclass
class Project:
    """The project's settings; an empty one when there is no `.vally.yaml`."""

    dir: Path
    document: Document | None = None
    file: ProjectFile = field(default_factory=ProjectFile)
    executors: dict[str, ExecutorSpec] = field(default_factory=dict)
    executor_sources: dict[str, Document] = field(default_factory=dict)
    judge: JudgeSpec | None = None
    _environments: dict[str, Environment | None] = field(default_factory=dict)

    @property
    def paths(self) -> Paths:
        return self.file.paths or Paths()

    @property
    def suites(self) -> dict[str, Suite]:
        return self.file.suites

    def environment_names(self) -> list[str]:
        return list(self.file.environments)

    def environment(self, name: str, problems: Problems, warnings: list[str]) -> Environment | None:
        """A named environment, resolved once (its paths are relative to .vally.yaml)."""
        spec = self.file.environments.get(name)
        if spec is None or self.document is None:
            return None
        if name not in self._environments:
            where = environments.Where(
                self.document, f"$.environments.{name}", self.dir, problems, warnings
            )
            self._environments[name] = environments.resolve(spec, where)
        return self._environments[name]


def find_project(start: Path) -> Path | None:
    """The folder holding `.vally.yaml`: `start` or its nearest parent that has one."""
    for folder in (start, *start.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    return None


def load_project(start: Path, problems: Problems) -> Project:
    """The project around `start`; `harness.yaml` beside `.vally.yaml` (or in `start`)."""
    folder = find_project(start)
    project = Project(dir=folder or start)
    if folder is not None:
        document = problems.attempt(lambda: read_yaml(folder / PROJECT_FILE))
        if document is not None and document.value is not None:
            spec = convert(document, ProjectFile, problems)
            if spec is not None:
                project.document, project.file = document, spec
                _add_executors(project, document, spec.executors, problems)
                project.judge = spec.judge
    _load_harness_file(project, problems)
    return project


def _load_harness_file(project: Project, problems: Problems) -> None:
    path = project.dir / HARNESS_FILE
    if not path.is_file():
        return
    document = problems.attempt(lambda: read_yaml(path))
    if document is None or document.value is None:
        return
    found = Problems()
    spec = convert(document, HarnessFile, found)
    # harness.yaml may carry settings of other harness commands: only what Vally runs needs is
    # read here, so other keys are no error of ours.
    for error in found.errors:
        if not error.message.startswith("unknown key"):
            problems.add(error)
    if spec is None:
        return
    _add_executors(project, document, spec.executors, problems)
    if spec.judge is not None:
        if project.judge is not None:
            message = "the judge is set in .vally.yaml too; keep one"
            problems.add(document.error(message, "$.judge"))
        project.judge = spec.judge


def _add_executors(
    project: Project,
    document: Document,
    executors: dict[str, ExecutorSpec],
    problems: Problems,
) -> None:
    for name, spec in executors.items():
        other = project.executor_sources.get(name)
        if other is not None:
            message = f"executor {name!r} is also defined in {other.shown}; keep one"
            problems.add(document.error(message, f"$.executors.{name}"))
            continue
        if not spec.command or not spec.command[0].strip():
            problems.add(
                document.error("must name a program to run", f"$.executors.{name}.command")
            )
        project.executors[name] = spec
        project.executor_sources[name] = document


def discover(project: Project) -> list[Path]:
    """Every eval spec under the project's `paths.evals` whose name matches `evalFilenames`."""
    paths = project.paths
    roots = [paths.evals] if isinstance(paths.evals, str) else paths.evals
    names = [paths.evalFilenames] if isinstance(paths.evalFilenames, str) else paths.evalFilenames
    found: set[Path] = set()
    for root in roots:
        folder = project.dir / root
        _check_inside(project, folder, "paths.evals")
        for directory, subdirs, files in os.walk(folder):
            subdirs[:] = sorted(d for d in subdirs if d not in SKIPPED_DIRS)
            for name in files:
                if any(fnmatch.fnmatch(name, pattern) for pattern in names):
                    found.add(Path(directory) / name)
    return sorted(found)


def _check_inside(project: Project, path: Path, field: str) -> None:
    """Eval specs are read only from inside the project (harness.config.containment)."""
    where = containment.Project.of_suite(project.dir)
    if where.outside(path):
        shown = project.document.shown if project.document else PROJECT_FILE
        raise ConfigError(shown, where.escape_message("eval spec", path), field=field)


def suite_files(project: Project, name: str) -> tuple[list[Path], Suite]:
    """The eval files of suite `name`: its `evals` globs, else every discovered spec.

    Raises:
        ConfigError: no such suite, or its globs match nothing.
    """
    suite = project.suites.get(name)
    if suite is None:
        known = ", ".join(sorted(project.suites)) or "none (no suites in .vally.yaml)"
        raise ConfigError(None, f"--suite {name}: unknown suite; known: {known}")
    if not suite.filter and not suite.evals:
        where = project.document.shown if project.document else PROJECT_FILE
        raise ConfigError(
            where, f"suite {name!r} needs `filter` or `evals`", field=f"suites.{name}"
        )
    if not suite.evals:
        return discover(project), suite
    files = sorted({path for pattern in suite.evals for path in project.dir.glob(pattern)})
    for path in files:
        _check_inside(project, path, f"suites.{name}.evals")
    if not files:
        raise ConfigError(None, f"--suite {name}: its evals globs match no file")
    return files, suite
