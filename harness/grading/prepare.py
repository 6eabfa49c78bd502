"""Load-time work on grader specs: paths resolved, files loaded, regexes compiled, weights and
thresholds checked, and assertions that can never fail refused (Assay's rule since 5.0).

Every problem is recorded at its file:line; nothing here raises for a user mistake.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from harness.config.containment import Project
from harness.config.schema import GraderSpec
from harness.config.yaml_source import Document, Problems
from harness.grading.catalogue import grader_of
from harness.grading.preparation import Preparation

INEFFECTIVE_HINT = (
    "it can never fail, so a pass proves nothing; fix it, or pass "
    "--allow-ineffective-assertions to run it anyway"
)


def prepare_specs(
    document: Document,
    specs: Sequence[GraderSpec],
    *,
    base_dir: Path,
    project: Project,
    problems: Problems,
    tool_registry: frozenset[str] | None = None,
    allow_ineffective: bool = False,
    prefix: str = "$.assertions",
) -> list[GraderSpec]:
    """Each spec of a list checked and prepared, at `prefix[i]`."""
    return [
        prepare_spec(
            Preparation(document, f"{prefix}[{i}]", base_dir, project, problems, tool_registry),
            spec,
            allow_ineffective=allow_ineffective,
        )
        for i, spec in enumerate(specs)
    ]


def prepare_spec(where: Preparation, spec: GraderSpec, *, allow_ineffective: bool) -> GraderSpec:
    """One spec checked (weight, its own prepare step, ineffectiveness) and prepared."""
    if not math.isfinite(spec.weight) or spec.weight < 0:
        where.error(f"must be a number of 0 or more, got {spec.weight}", "weight")
    grader = grader_of(spec)
    before = len(where.problems.errors)
    if grader.prepare is not None:
        spec = grader.prepare(spec, where)
    # A spec already found wrong is not also called ineffective: one problem, one line.
    checked = len(where.problems.errors) == before
    if checked and not allow_ineffective and grader.ineffective is not None:
        reason = grader.ineffective(spec)
        if reason is not None:
            where.error(f"{reason}: {INEFFECTIVE_HINT}")
    return spec


def check_threshold(document: Document, value: float | None, path: str, problems: Problems) -> None:
    if value is not None and not 0 <= value <= 1:
        hint = f"; did you mean {value / 100:g}?" if 1 < value <= 100 else ""
        message = f"must be a fraction between 0 and 1, got {value:g}{hint}"
        problems.add(document.error(message, path))


def flatten_config(document: Document, list_key: str = "assertions") -> Document:
    """Vally writes a grader as `{type, name, weight, config: {...}}`; harness reads the same
    fields flat. The `config` mapping is merged into its grader, lines kept, so both work."""
    value = document.value
    graders = value.get(list_key) if isinstance(value, dict) else None
    if not isinstance(graders, list) or not any(_nested(item) for item in graders):
        return document
    lines = dict(document.lines)
    flat = []
    for i, item in enumerate(graders):
        if not _nested(item):
            flat.append(item)
            continue
        path = f"$.{list_key}[{i}]"
        merged = {key: val for key, val in item.items() if key != "config"}
        for key, val in item["config"].items():
            merged.setdefault(key, val)
            for json_path, line in document.lines.items():
                old = f"{path}.config.{key}"
                if json_path == old or json_path.startswith((old + ".", old + "[")):
                    lines[f"{path}.{key}" + json_path[len(old) :]] = line
        flat.append(merged)
    return msgspec.structs.replace(document, value={**value, list_key: flat}, lines=lines)


def _nested(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("config"), dict)
