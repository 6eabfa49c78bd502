"""Load-time work on grader specs: paths resolved, files loaded, regexes compiled, weights and
thresholds checked, and assertions that can never fail refused (Assay's rule since 5.0).

Every problem is recorded at its file:line; nothing here raises for a user mistake.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from harness.config.schema import GraderSpec
from harness.config.yaml_source import Document, Problems, display_path
from harness.errors import ConfigError
from harness.grading.registry import grader_of

INEFFECTIVE_HINT = (
    "it can never fail, so a pass proves nothing; fix it, or pass "
    "--allow-ineffective-assertions to run it anyway"
)
REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}


@dataclasses.dataclass
class Preparation:
    """Where a spec was written and what a prepare step may use to check it."""

    document: Document
    path: str  # the spec's JSON path in the document, `$.assertions[2]`
    base_dir: Path  # relative paths resolve against this folder
    problems: Problems
    tool_registry: frozenset[str] | None = None  # None: any tool may be called

    def error(self, message: str, field: str | None = None) -> None:
        where = self.path if field is None else f"{self.path}.{field}"
        self.problems.add(self.document.error(message, where))

    def resolve(self, relative: str) -> Path:
        return Path(os.path.abspath(self.base_dir / relative))

    def load_schema(self, relative: str, field: str) -> Any:
        """The JSON Schema document at `relative` (JSON or YAML), or None after an error."""
        from harness.config.runledger import load_json_schema

        target = self.resolve(relative)
        if not target.is_file():
            message = f"schema file {display_path(target)} not found (relative to the config)"
            self.error(message, field)
            return None
        try:
            return load_json_schema(target)
        except ConfigError as exc:
            self.problems.add(exc)
            return None

    def check_schema(self, schema: Any, field: str) -> bool:
        """An inline schema must be one the validator accepts."""
        import jsonschema_rs

        try:
            jsonschema_rs.validator_for(schema)
        except Exception as exc:  # any failure of the validator means a bad schema
            self.error(f"not a valid JSON Schema: {str(exc).splitlines()[0]}", field)
            return False
        return True

    def compile_regex(self, pattern: str, field: str, flags: str = "") -> re.Pattern[str] | None:
        try:
            return compile_regex(pattern, flags)
        except ValueError as exc:
            self.error(str(exc), field)
            return None

    def check_tool(self, tool: str, field: str, *, must_be_callable: bool) -> None:
        """A tool the agent must call has to be in tool_registry, or the check never passes."""
        registry = self.tool_registry
        if must_be_callable and registry is not None and tool not in registry:
            self.error(f"tool {tool!r} is not in tool_registry, so this can never pass", field)


def compile_regex(pattern: str, flags: str = "") -> re.Pattern[str]:
    """`pattern` with letter flags (`ims`); ValueError with a readable reason otherwise."""
    value = re.RegexFlag(0)
    for letter in flags:
        if letter not in REGEX_FLAGS:
            raise ValueError(f"unknown regex flag {letter!r}; use letters from 'ims'")
        value |= REGEX_FLAGS[letter]
    try:
        return re.compile(pattern, value)
    except (re.error, RecursionError, OverflowError) as exc:
        raise ValueError(f"invalid regular expression: {exc}") from None


def prepare_specs(
    document: Document,
    specs: Sequence[GraderSpec],
    *,
    base_dir: Path,
    problems: Problems,
    tool_registry: frozenset[str] | None = None,
    allow_ineffective: bool = False,
    prefix: str = "$.assertions",
) -> list[GraderSpec]:
    """Each spec of a list checked and prepared, at `prefix[i]`."""
    return [
        prepare_spec(
            Preparation(document, f"{prefix}[{i}]", base_dir, problems, tool_registry),
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
