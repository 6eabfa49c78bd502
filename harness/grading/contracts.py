"""RunLedger's five assertions as grader types: their checks stay in assertions.py, unchanged;
this only turns each AssertionFailure into a Verdict with the same message and details."""

from __future__ import annotations

from typing import Any

from harness.config.schema import (
    CallOrderAssertion,
    JsonSchemaAssertion,
    MustCallAssertion,
    MustNotCallAssertion,
    RequiredFieldsAssertion,
)
from harness.grading.assertions import grade
from harness.grading.context import GradingContext
from harness.grading.registry import GraderType
from harness.grading.verdict import Verdict, verdict


def _grade(spec: Any, context: GradingContext) -> Verdict:
    failures = grade([spec], context.output, context.call_names, context.schemas)
    if not failures:
        return verdict(spec, True, _passed(spec))
    failure = failures[0]
    details = dict(failure.details or {})
    if failure.type != spec.__struct_config__.tag:  # json_schema_error keeps its own name
        details["assertion"] = failure.type
    return verdict(
        spec,
        False,
        failure.message,
        expected=failure.expected,
        observed=failure.observed,
        details=details or None,
    )


def _passed(spec: Any) -> str:
    match spec:
        case JsonSchemaAssertion(schema_path=path):
            return f"output matches {path}"
        case RequiredFieldsAssertion(fields=fields):
            return f"output has {', '.join(fields)}"
        case MustCallAssertion(tools=tools):
            return f"called {', '.join(tools)}"
        case MustNotCallAssertion(tools=tools):
            return f"never called {', '.join(tools)}"
        case CallOrderAssertion(order=order):
            return f"calls in order {' -> '.join(order)}"
    return "passed"


def _empty(field: str) -> Any:
    def check(spec: Any) -> str | None:
        return None if getattr(spec, field) else f"{field} is empty"

    return check


CONTRACT_GRADERS = [
    GraderType(
        name="json_schema",
        spec=JsonSchemaAssertion,
        grade=_grade,
        summary="The final output validates against a JSON Schema file (every error reported).",
        family="runledger",
        fields={"schema_path": "JSON or YAML schema file, relative to the suite folder"},
    ),
    GraderType(
        name="required_fields",
        spec=RequiredFieldsAssertion,
        grade=_grade,
        summary="The final output is an object with each of these top-level keys.",
        family="runledger",
        fields={"fields": "list of key names"},
        ineffective=_empty("fields"),
    ),
    GraderType(
        name="must_call",
        spec=MustCallAssertion,
        grade=_grade,
        summary="Each of these tools was called at least once.",
        family="runledger",
        fields={"tools": "tool names; each must be in tool_registry"},
        ineffective=_empty("tools"),
    ),
    GraderType(
        name="must_not_call",
        spec=MustNotCallAssertion,
        grade=_grade,
        summary="None of these tools was called.",
        family="runledger",
        fields={"tools": "tool names"},
        ineffective=_empty("tools"),
    ),
    GraderType(
        name="call_order",
        spec=CallOrderAssertion,
        grade=_grade,
        summary="The calls contain this order as a subsequence (gaps allowed; repeats repeat).",
        family="runledger",
        fields={"order": "tool names in the order they must occur"},
        ineffective=_empty("order"),
    ),
]
