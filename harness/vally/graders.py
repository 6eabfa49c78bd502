"""A stimulus's `graders:` built into grader specs: the type looked up in Vally's catalogue (then
in harness's plugins), `config` checked against the type's own fields (every unknown key
reported, with a "did you mean"), the spec prepared at its file:line, its display name derived
from its config and its weight taken from `scoring.weights`."""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from harness.config.containment import Project
from harness.config.schema import GraderSpec
from harness.config.yaml_source import Document, Problems
from harness.grading.catalogue import grader_types
from harness.grading.preparation import Preparation
from harness.grading.prepare import prepare_spec
from harness.grading.registry import GraderType
from harness.grading.vally.catalogue import VALLY_GRADERS, ensure_registered
from harness.grading.vally.metrics import TokenBudget
from harness.grading.vally.steps import ToolCalls
from harness.vally.spec import Constraints, GraderEntry

# The config value that tells two graders of one type apart, in the order looked for.
_NAME_KEYS = ("path", "substring", "value", "pattern", "command", "program", "prompt", "max")


def known_types() -> dict[str, GraderType]:
    """Vally's catalogue, then harness's public types (plugins from --grader-plugin, and
    harness's own graders) under names Vally does not use."""
    ensure_registered()
    types = dict(VALLY_GRADERS)
    for grader in grader_types():
        types.setdefault(grader.name, grader)
    return types


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


@dataclass
class GraderBuilder:
    """Builds the graders of one stimulus."""

    document: Document
    base_dir: Path
    problems: Problems
    weights: Mapping[str, float]

    def build(self, entries: Sequence[GraderEntry], prefix: str) -> list[GraderSpec]:
        types = known_types()
        counts = Counter(entry.type for entry in entries)
        specs = []
        for i, entry in enumerate(entries):
            path = f"{prefix}[{i}]"
            grader = types.get(entry.type)
            if grader is None:
                names = sorted(VALLY_GRADERS)
                hint = did_you_mean(entry.type, sorted(types)) or f"; known: {', '.join(names)}"
                self._error(f"unknown grader type {entry.type!r}{hint}", f"{path}.type")
                continue
            spec = self._convert(entry, grader, path, counts[entry.type] > 1)
            if spec is not None:
                where = Preparation(
                    self.document,
                    f"{path}.config",
                    self.base_dir,
                    Project.of_suite(self.base_dir),
                    self.problems,
                )
                specs.append(prepare_spec(where, spec, allow_ineffective=True))
        return specs

    def _convert(
        self, entry: GraderEntry, grader: GraderType, path: str, shared: bool
    ) -> GraderSpec | None:
        fields = [f for f in grader.spec.__struct_fields__ if f not in ("name", "weight")]
        unknown = [key for key in entry.config if key not in fields]
        for key in unknown:
            valid = ", ".join(fields) or "none"
            hint = did_you_mean(key, fields)
            self._error(f"unknown key; valid keys: {valid}{hint}", f"{path}.config.{key}")
        config = {key: value for key, value in entry.config.items() if key not in unknown}
        name = entry.name or derive_name(entry, shared)
        weight = self._weight(entry, name)
        try:
            return msgspec.convert({**config, "name": name, "weight": weight}, grader.spec)
        except msgspec.ValidationError as exc:
            self._explain(str(exc), f"{path}.config")
            return None

    def _weight(self, entry: GraderEntry, name: str) -> float:
        if entry.weight is not None:
            return entry.weight
        if name in self.weights:
            return self.weights[name]
        return self.weights.get(entry.type, 1.0)

    def _explain(self, message: str, prefix: str) -> None:
        """A msgspec message (`Expected `int`, got `str` - at `$.max``) at its config key."""
        text, _, at = message.partition(" - at `")
        where = prefix + at.rstrip("`").removeprefix("$")
        if missing := re.fullmatch(r"Object missing required field `(.+)`", text):
            self._error("missing required key", f"{where}.{missing[1]}")
        else:
            self._error(text[:1].lower() + text[1:], where)

    def _error(self, message: str, path: str) -> None:
        self.problems.add(self.document.error(message, path))


def derive_name(entry: GraderEntry, shared: bool) -> str:
    """The grader's display name: its type, or, when the stimulus has two of that type, the
    type with the config value that tells them apart (`file-exists:add.test.js`)."""
    if not shared:
        return entry.type
    for key in _NAME_KEYS:
        value = entry.config.get(key)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return f"{entry.type}:{value}"
    return f"{entry.type}:{_short(entry.config)}"


def _short(config: Mapping[str, Any]) -> str:
    text = msgspec.json.encode(config).decode() if config else "{}"
    return text if len(text) <= 40 else text[:37] + "..."


def constraint_graders(
    constraints: Constraints | None, weights: Mapping[str, float]
) -> list[GraderSpec]:
    """What `constraints` asks that a grader checks: `expect_tools` must be called,
    `reject_tools` must not, and the total tokens must stay within `max_tokens` (also a live
    budget on output tokens). `max_turns` is a live budget only (see harness.vally.runner)."""
    ensure_registered()
    if constraints is None:
        return []
    graders: list[GraderSpec] = []

    def weight(name: str) -> float:
        return weights.get(name, 1.0)

    exact = [f"^{re.escape(tool)}$" for tool in constraints.expect_tools]
    banned = [f"^{re.escape(tool)}$" for tool in constraints.reject_tools]
    if exact:
        name = "constraints.expect_tools"
        graders.append(ToolCalls(required=list(exact), name=name, weight=weight(name)))
    if banned:
        name = "constraints.reject_tools"
        graders.append(ToolCalls(disallowed=list(banned), name=name, weight=weight(name)))
    if constraints.max_tokens is not None:
        name = "constraints.max_tokens"
        graders.append(TokenBudget(max=constraints.max_tokens, name=name, weight=weight(name)))
    return graders
