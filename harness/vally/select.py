"""Which evals a command runs: `-e/--eval-spec` files, a `--suite` of .vally.yaml, or every
discovered spec, then `--tag key=v1,v2` filters over stimuli (AND across keys, OR within
values; a suite's `filter` is ANDed with them). Everything is loaded and checked here: every
problem of every file is reported at once, before any agent starts (exit 2)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.config.yaml_source import Problems
from harness.errors import UsageError
from harness.plan.select import parse_tags
from harness.vally.load import Loader, tag_values
from harness.vally.model import EvalSpec
from harness.vally.project import Project, discover, load_project, suite_files


@dataclass
class Selection:
    project: Project
    evals: list[EvalSpec]
    warnings: list[str] = field(default_factory=list)


def select_evals(
    eval_specs: Sequence[Path],
    *,
    suite: str | None,
    tags: Sequence[str],
    cwd: Path,
) -> Selection:
    """Load the evals the flags name, filtered by tags.

    Raises:
        UsageError: no source, --suite with -e, or nothing selected.
        ConfigError: every problem of the project and the specs.
    """
    if suite is not None and eval_specs:
        raise UsageError("--suite cannot be combined with --eval-spec: give one source")
    if not (eval_specs or suite or tags):
        raise UsageError("give --eval-spec FILE, --suite NAME (from .vally.yaml) or --tag k=v")
    problems, warnings = Problems(), list[str]()
    project = load_project(cwd, problems)
    problems.check()
    filters = list(parse_tags(tags))
    if eval_specs:
        files = [Path(path) for path in eval_specs]
    elif suite is not None:
        files, chosen = suite_files(project, suite)
        filters += parse_tags([f"{k}={','.join(v)}" for k, v in tag_values(chosen.filter).items()])
    else:
        files = discover(project)
        if not files:
            raise UsageError(
                f"no eval specs found under {project.dir} (paths.evals in .vally.yaml)"
            )
    loader = Loader(project, problems, warnings)
    loaded = [spec for path in files if (spec := loader.load(path)) is not None]
    problems.check()
    _check_unique_names(loaded)
    evals = [spec for spec in (filtered(spec, filters) for spec in loaded) if spec is not None]
    if not evals:
        wanted = " ".join(tags) or (f"suite {suite}" if suite else "")
        raise UsageError(f"no stimulus matches {wanted}".strip())
    return Selection(project, evals, warnings)


def filtered(spec: EvalSpec, filters: Sequence[tuple[str, frozenset[str]]]) -> EvalSpec | None:
    """The spec with only the stimuli every filter keeps; None when none is left."""
    if not filters:
        return spec
    kept = tuple(
        s for s in spec.stimuli if all(_keeps(s.tags, key, wanted) for key, wanted in filters)
    )
    return dataclasses.replace(spec, stimuli=kept) if kept else None


def _keeps(tags: Mapping[str, tuple[str, ...]], key: str, wanted: frozenset[str]) -> bool:
    return any(value in wanted for value in tags.get(key, ()))


def _check_unique_names(specs: Sequence[EvalSpec]) -> None:
    first: dict[str, EvalSpec] = {}
    for spec in specs:
        other = first.setdefault(spec.name, spec)
        if other is not spec:
            raise UsageError(
                f"two evals are named {spec.name!r}: {other.shown} and {spec.shown}; "
                "give one a different `name:` (names key the output folders)"
            )
