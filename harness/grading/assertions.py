"""RunLedger's assertions on an attempt: json_schema, required_fields, must_call,
must_not_call, call_order. Every failure is collected, in the order the assertions are given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, assert_never

import msgspec

from harness.config.schema import (
    AssertionSpec,
    CallOrderAssertion,
    JsonSchemaAssertion,
    MustCallAssertion,
    MustNotCallAssertion,
    RequiredFieldsAssertion,
)
from harness.protocol.codec import json_type_name

if TYPE_CHECKING:
    import jsonschema_rs

SCHEMA_ERRORS_SHOWN = 5


class AssertionFailure(msgspec.Struct, omit_defaults=True):
    """One failed assertion. `type` is the assertion's type (or `json_schema_error`)."""

    type: str
    message: str
    expected: Any = None
    observed: Any = None
    details: dict[str, Any] | None = None


def grade(
    assertions: Sequence[AssertionSpec],
    output: Any,
    tool_calls: Sequence[str],
    schemas: Mapping[str, Any],
) -> list[AssertionFailure]:
    """Check every assertion; return the failures (empty when all pass).

    Args:
        assertions: suite assertions first, then the case's.
        output: the agent's final output.
        tool_calls: the names of the tool calls the agent made, in order.
        schemas: json_schema documents by their (absolute) `schema_path`.
    """
    calls = list(tool_calls)
    failures: list[AssertionFailure] = []
    for assertion in assertions:
        failure = _check(assertion, output, calls, schemas)
        if failure is not None:
            failures.append(failure)
    return failures


def _check(
    assertion: AssertionSpec, output: Any, calls: list[str], schemas: Mapping[str, Any]
) -> AssertionFailure | None:
    match assertion:
        case JsonSchemaAssertion(schema_path=path):
            return _json_schema(path, schemas, output)
        case RequiredFieldsAssertion(fields=fields):
            return _required_fields(fields, output)
        case MustCallAssertion(tools=tools):
            return _must_call(tools, calls)
        case MustNotCallAssertion(tools=tools):
            return _must_not_call(tools, calls)
        case CallOrderAssertion(order=order):
            return _call_order(order, calls)
        case _:
            assert_never(assertion)


def _required_fields(fields: list[str], output: Any) -> AssertionFailure | None:
    if not isinstance(output, dict):
        return AssertionFailure(
            type="required_fields",
            message=f"output is {json_type_name(output)}, not an object with {_names(fields)}",
            expected=fields,
            observed=json_type_name(output),
        )
    missing = [field for field in fields if field not in output]
    if not missing:
        return None
    return AssertionFailure(
        type="required_fields",
        message=f"output lacks required field(s) {_names(missing)}",
        expected=fields,
        observed=sorted(output),
        details={"missing": missing},
    )


def _must_call(tools: list[str], calls: list[str]) -> AssertionFailure | None:
    missing = [tool for tool in tools if tool not in calls]
    if not missing:
        return None
    return AssertionFailure(
        type="must_call",
        message=f"expected call(s) to {_names(missing)}; calls made: {_calls(calls)}",
        expected=tools,
        observed=calls,
        details={"missing": missing},
    )


def _must_not_call(tools: list[str], calls: list[str]) -> AssertionFailure | None:
    forbidden = [tool for tool in tools if tool in calls]
    if not forbidden:
        return None
    return AssertionFailure(
        type="must_not_call",
        message=f"forbidden call(s) to {_names(forbidden)}; calls made: {_calls(calls)}",
        expected=tools,
        observed=calls,
        details={"forbidden": forbidden},
    )


def _call_order(order: list[str], calls: list[str]) -> AssertionFailure | None:
    """`order` must be a subsequence of `calls`: gaps allowed, repeats must repeat."""
    matched = 0
    for call in calls:
        if matched < len(order) and call == order[matched]:
            matched += 1
    if matched == len(order):
        return None
    return AssertionFailure(
        type="call_order",
        message=(
            f"expected calls in order {' -> '.join(order)}; matched up to "
            f"{order[matched]!r} (step {matched + 1}); calls made: {_calls(calls)}"
        ),
        expected=order,
        observed=calls,
        details={"matched_steps": matched},
    )


def _json_schema(path: str, schemas: Mapping[str, Any], output: Any) -> AssertionFailure | None:
    import jsonschema_rs  # here, not at the top: only suites with a json_schema assertion pay

    if path not in schemas:
        return AssertionFailure(type="json_schema_error", message=f"{path}: schema was not loaded")
    try:
        validator = _validator(path, schemas[path])
    except (ValueError, jsonschema_rs.ReferencingError) as exc:
        return AssertionFailure(type="json_schema_error", message=f"{path}: invalid schema: {exc}")
    errors = [
        {"path": _instance_path(error.instance_path), "message": error.message}
        for error in validator.iter_errors(output)
    ]
    if not errors:
        return None
    shown = [f"{error['path']}: {error['message']}" for error in errors[:SCHEMA_ERRORS_SHOWN]]
    if len(errors) > SCHEMA_ERRORS_SHOWN:
        shown.append(f"... and {len(errors) - SCHEMA_ERRORS_SHOWN} more")
    noun = "error" if len(errors) == 1 else "errors"
    return AssertionFailure(
        type="json_schema",
        message=f"output does not match {path} ({len(errors)} {noun}): " + "; ".join(shown),
        expected=path,
        details={"errors": errors},
    )


# Validators by schema path. The document is kept with its validator and compared on use, so a
# changed schema under the same path (another suite, a re-load) never gets a stale validator.
_validators: dict[str, tuple[Any, jsonschema_rs.Validator]] = {}


def _validator(path: str, schema: Any) -> jsonschema_rs.Validator:
    """Draft 2020-12 unless the schema's `$schema` names another draft."""
    cached = _validators.get(path)
    if cached is not None and (cached[0] is schema or cached[0] == schema):
        return cached[1]
    # lazy: jsonschema_rs loads only when a schema is compiled
    import jsonschema_rs

    validator = jsonschema_rs.validator_for(schema)
    _validators[path] = (schema, validator)
    return validator


def _instance_path(parts: Sequence[str | int]) -> str:
    """`$.items[0].name`, as msgspec writes paths."""
    text = "$"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _names(names: list[str]) -> str:
    return ", ".join(repr(name) for name in names)


def _calls(calls: list[str]) -> str:
    return " -> ".join(calls) if calls else "none"
