"""JSON Schema for graders: validation errors as `$.path: message`, validators built once per
schema document, and whether a schema asserts anything at all."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    import jsonschema_rs

# Keywords that describe or organise a schema without constraining any value.
_ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "$defs",
        "definitions",
        "$anchor",
        "$vocabulary",
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
    }
)
_validators: dict[bytes, jsonschema_rs.Validator] = {}


def validator_for(schema: Any) -> jsonschema_rs.Validator:
    """Draft 2020-12 unless `$schema` names another; one validator per distinct document."""
    key = msgspec.json.encode(schema, order="sorted")
    validator = _validators.get(key)
    if validator is None:
        # Imported here (~12 ms with the email package it pulls in): every suite loads the
        # grader catalogue, few grade with a schema.
        import jsonschema_rs

        validator = _validators[key] = jsonschema_rs.validator_for(schema)
    return validator


def schema_errors(schema: Any, instance: Any) -> list[dict[str, str]]:
    """Every validation error of `instance`, as `{path, message}`; empty when it is valid."""
    return [
        {"path": instance_path(error.instance_path), "message": error.message}
        for error in validator_for(schema).iter_errors(instance)
    ]


def instance_path(parts: Sequence[str | int]) -> str:
    """`$.items[0].name`, as msgspec writes paths."""
    text = "$"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def schema_asserts_nothing(schema: Any) -> bool:
    """True for `true`, `{}` and schemas made only of annotations: every value is valid."""
    if schema is True:
        return True
    return isinstance(schema, dict) and all(key in _ANNOTATIONS for key in schema)
