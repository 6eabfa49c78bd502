"""Assay's `expected:` as it is really written: the tagged form, and the legacy forms its parser
still accepts (no `type` with one of must_contain / sequence / schema / $ref; `type: sequence`;
a scalar `must_contain`; a one-entry list). Each is rewritten to the tagged form before
validation, with line numbers kept, so every later error still points at the right line.
"""

from __future__ import annotations

from typing import Any

from harness.config.suggest import did_you_mean
from harness.config.yaml_source import Document

LEGACY_KEYS = ("$ref", "must_contain", "sequence", "schema")
EXPECTED_TYPES = (
    "must_contain",
    "must_not_contain",
    "regex_match",
    "regex_not_match",
    "json_schema",
    "json_match",
    "exact_match",
    "semantic_similarity_to",
    "faithfulness",
    "relevance",
    "judge_criteria",
    "args_valid",
    "sequence_valid",
    "tool_blocklist",
    "tool_output_valid",
    "tool_description_integrity",
    "tool_collision_detect",
    "$ref",
)
ASSERTION_TYPES = (
    "trace_must_call_tool",
    "trace_must_not_call_tool",
    "trace_tool_sequence",
    "trace_max_steps",
    "args_valid",
    "sequence_valid",
    "tool_blocklist",
    "trace_no_tool_call",
    "trace_tool_args_match",
    "trace_tool_args_schema",
    "trace_no_tool_errors",
    "trace_tool_call_count",
)
# Renamed fields Assay accepts under a second name.
_ALIASES = {"semantic_similarity_to": {"text": "semantic_similarity_to", "threshold": "min_score"}}


class Rewriter:
    """Rewrites one test's `expected` in a document's value, moving lines with it."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.lines = dict(document.lines)
        self.errors: list[tuple[str, str]] = []  # (json path, message)

    def move(self, old: str, new: str) -> None:
        for path, line in self.document.lines.items():
            if path == old or path.startswith((old + ".", old + "[")):
                self.lines[new + path[len(old) :]] = line

    def expected(self, value: Any, path: str) -> Any:
        """The tagged form of `value` at `path`, or None after recording why it is wrong."""
        if isinstance(value, list):
            if not value:
                self.errors.append(
                    (
                        path,
                        "`expected:` is an empty list, which asserts nothing;"
                        " remove the key or give it a check",
                    )
                )
                return None
            if len(value) > 1:
                message = (
                    f"`expected:` has {len(value)} entries but only one is supported (earlier"
                    " Assay versions silently dropped all but the first); split the test or move"
                    " the extra checks to `assertions:`"
                )
                self.errors.append((path, message))
                return None
            self.move(f"{path}[0]", path)
            value = value[0]
        if not isinstance(value, dict):
            self.errors.append((path, f"must be a mapping, got {_kind(value)}"))
            return None
        if "type" in value:
            return self._tagged(value, path)
        return self._legacy(value, path)

    def _tagged(self, value: dict[str, Any], path: str) -> Any:
        kind = value["type"]
        if kind not in (*EXPECTED_TYPES, "sequence"):
            valid = ", ".join(EXPECTED_TYPES)
            hint = did_you_mean(kind, EXPECTED_TYPES)
            message = f"unknown type {kind!r}; {hint}valid types: {valid}"
            self.errors.append((f"{path}.type", message))
            return None
        if kind == "sequence":  # the historical tag of sequence_valid
            return {**value, "type": "sequence_valid"}
        if kind == "must_contain" and isinstance(value.get("must_contain"), str):
            self.move(f"{path}.must_contain", f"{path}.must_contain[0]")
            return {**value, "must_contain": [value["must_contain"]]}
        renamed = dict(value)
        for old, new in _ALIASES.get(kind, {}).items():
            if old in renamed and new not in renamed:
                renamed[new] = renamed.pop(old)
                self.move(f"{path}.{old}", f"{path}.{new}")
        return renamed

    def _legacy(self, value: dict[str, Any], path: str) -> Any:
        unknown = [key for key in value if key not in LEGACY_KEYS]
        if unknown:
            message = (
                f"unrecognized legacy `expected:` key(s) {', '.join(unknown)}; use the tagged"
                f" form (type: ...) or one of {', '.join(LEGACY_KEYS)}"
            )
            self.errors.append((f"{path}.{unknown[0]}", message))
            return None
        if len(value) != 1:
            message = (
                f"ambiguous legacy `expected:` with several checks ({', '.join(value)}); use one"
                " tagged check and move the others to `assertions:`"
            )
            self.errors.append((path, message))
            return None
        [(key, item)] = value.items()
        if key == "must_contain":
            if isinstance(item, str):
                self.move(f"{path}.must_contain", f"{path}.must_contain[0]")
                item = [item]
            return {"type": "must_contain", "must_contain": item}
        if key == "sequence":
            return {"type": "sequence_valid", "sequence": item}
        if key == "schema":
            return {"type": "args_valid", "schema": item}
        self.move(f"{path}.$ref", f"{path}.path")
        return {"type": "$ref", "path": item}

    def assertions(self, value: Any, path: str) -> Any:
        """Assertions of an unknown type are reported here with Assay's list plus ours."""
        if not isinstance(value, list):
            return value
        kept = []
        for i, item in enumerate(value):
            kind = item.get("type") if isinstance(item, dict) else None
            if isinstance(kind, str) and kind not in ASSERTION_TYPES:
                valid = ", ".join(ASSERTION_TYPES)
                hint = did_you_mean(kind, ASSERTION_TYPES)
                where = f"{path}[{i}].type"
                self.errors.append((where, f"unknown type {kind!r}; {hint}valid types: {valid}"))
                continue
            if kind == "trace_tool_sequence" and "allow_other_tools" not in item:
                # Assay's parser requires it (no serde default): refused, as Assay refuses it.
                message = (
                    "trace_tool_sequence needs allow_other_tools (Assay gives it no default): "
                    "false for exactly this sequence, true for it in order with other calls between"
                )
                self.errors.append((f"{path}[{i}]", message))  # kept: one error, not two
            kept.append(item)
        return kept if len(kept) == len(value) else None


def _kind(value: Any) -> str:
    names: dict[type, str] = {dict: "a mapping", list: "a list", str: "a string"}
    return names.get(type(value), type(value).__name__)
