"""What a grader's load-time `prepare` hook gets: where its spec was written, and helpers that
resolve paths, load schemas, compile regexes and record problems at the spec's file:line."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any

from harness.config.containment import PathOutsideProject, Project
from harness.config.runledger import load_json_schema
from harness.config.yaml_source import Document, Problems, display_path
from harness.errors import ConfigError

REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}


@dataclasses.dataclass
class Preparation:
    """Where a spec was written and what a prepare step may use to check it."""

    document: Document
    path: str  # the spec's JSON path in the document, `$.assertions[2]`
    base_dir: Path  # relative paths resolve against this folder
    project: Project  # every file a spec names must be inside it (harness.config.containment)
    problems: Problems
    tool_registry: frozenset[str] | None = None  # None: any tool may be called

    def error(self, message: str, field: str | None = None) -> None:
        where = self.path if field is None else f"{self.path}.{field}"
        self.problems.add(self.document.error(message, where))

    def resolve(self, relative: str) -> Path:
        return Path(os.path.abspath(self.base_dir / relative))

    def contained(self, relative: str, field: str, kind: str) -> Path | None:
        """The file `relative` names, resolved inside the project; None after an error."""
        try:
            return self.project.contain(self.resolve(relative), kind)
        except PathOutsideProject as exc:
            self.error(str(exc), field)
            return None

    def load_schema(self, relative: str, field: str) -> Any:
        """The JSON Schema document at `relative` (JSON or YAML), or None after an error."""
        target = self.contained(relative, field, "schema")
        if target is None:
            return None
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
        # lazy: jsonschema_rs loads only when a schema is checked
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
