"""RunLedger's assertions: json_schema, required_fields, must_call, must_not_call, call_order."""

from __future__ import annotations

from typing import Any

import pytest

from harness.config.schema import (
    AssertionSpec,
    CallOrderAssertion,
    JsonSchemaAssertion,
    MustCallAssertion,
    MustNotCallAssertion,
    RequiredFieldsAssertion,
)
from harness.grading.assertions import AssertionFailure, grade

SCHEMA_PATH = "/suite/schema.json"
SCHEMA = {
    "type": "object",
    "required": ["category", "priority"],
    "properties": {
        "category": {"enum": ["billing", "bug"]},
        "priority": {"type": "integer", "minimum": 1},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}


def check(assertion: AssertionSpec, output: Any = None, calls: list[str] | None = None) -> Any:
    return grade([assertion], output, calls or [], {SCHEMA_PATH: SCHEMA})


def test_json_schema_passes_valid_output() -> None:
    assert check(JsonSchemaAssertion(SCHEMA_PATH), {"category": "bug", "priority": 2}) == []


def test_json_schema_reports_every_error_with_its_path() -> None:
    output = {"category": "spam", "tags": ["a", 3]}
    [failure] = check(JsonSchemaAssertion(SCHEMA_PATH), output)
    assert failure.type == "json_schema"
    assert failure.expected == SCHEMA_PATH
    assert failure.message.startswith(f"output does not match {SCHEMA_PATH} (3 errors): ")
    assert failure.details is not None
    errors = {(e["path"], e["message"]) for e in failure.details["errors"]}
    assert errors == {
        ("$", '"priority" is a required property'),
        ("$.category", '"spam" is not one of "billing" or "bug"'),
        ("$.tags[1]", '3 is not of type "string"'),
    }


def test_json_schema_message_is_bounded() -> None:
    schema = {"type": "array", "items": {"type": "string"}}
    [failure] = grade([JsonSchemaAssertion("/s.json")], list(range(40)), [], {"/s.json": schema})
    assert "(40 errors)" in failure.message
    assert "... and 35 more" in failure.message
    assert failure.details is not None
    assert len(failure.details["errors"]) == 40


def test_json_schema_validates_non_object_output() -> None:
    [failure] = check(JsonSchemaAssertion(SCHEMA_PATH), "text")
    assert '"text" is not of type "object"' in failure.message


def test_json_schema_problems_become_json_schema_error() -> None:
    [missing] = grade([JsonSchemaAssertion("/nope.json")], {}, [], {})
    assert missing.type == "json_schema_error"
    [invalid] = grade([JsonSchemaAssertion("/bad.json")], {}, [], {"/bad.json": {"type": 12}})
    assert invalid.type == "json_schema_error"
    assert invalid.message.startswith("/bad.json: invalid schema")


def test_json_schema_cache_notices_a_changed_schema() -> None:
    path = "/changing.json"
    assert grade([JsonSchemaAssertion(path)], 1, [], {path: {"type": "integer"}}) == []
    assert grade([JsonSchemaAssertion(path)], 1, [], {path: {"type": "string"}}) != []


def test_required_fields() -> None:
    spec = RequiredFieldsAssertion(["a", "b", "c"])
    assert check(spec, {"a": 1, "b": None, "c": 0}) == []
    [failure] = check(spec, {"a": 1, "z": 2})
    assert failure.message == "output lacks required field(s) 'b', 'c'"
    assert failure.details == {"missing": ["b", "c"]}
    assert failure.expected == ["a", "b", "c"]
    assert failure.observed == ["a", "z"]


def test_required_fields_is_top_level_only() -> None:
    assert check(RequiredFieldsAssertion(["b"]), {"a": {"b": 1}}) != []


@pytest.mark.parametrize("output", [None, [], "a", 3, True])
def test_required_fields_on_non_object(output: Any) -> None:
    [failure] = check(RequiredFieldsAssertion(["a"]), output)
    assert failure.type == "required_fields"
    assert "not an object" in failure.message


def test_must_call() -> None:
    assert check(MustCallAssertion(["search"]), calls=["search", "search"]) == []
    [failure] = check(MustCallAssertion(["search", "fetch"]), calls=["fetch", "answer"])
    assert failure == AssertionFailure(
        type="must_call",
        message="expected call(s) to 'search'; calls made: fetch -> answer",
        expected=["search", "fetch"],
        observed=["fetch", "answer"],
        details={"missing": ["search"]},
    )
    [none] = check(MustCallAssertion(["x"]))
    assert none.message.endswith("calls made: none")


def test_must_not_call() -> None:
    assert check(MustNotCallAssertion(["delete"]), calls=["search"]) == []
    [failure] = check(MustNotCallAssertion(["delete", "x"]), calls=["search", "delete"])
    assert failure.type == "must_not_call"
    assert failure.details == {"forbidden": ["delete"]}
    assert failure.observed == ["search", "delete"]


@pytest.mark.parametrize(
    ("order", "calls", "passes"),
    [
        (["a", "b"], ["a", "b"], True),
        (["a", "c"], ["a", "b", "c"], True),  # gaps allowed
        ([], [], True),
        (["a", "a"], ["a", "b", "a"], True),
        (["a", "a"], ["a", "b"], False),  # repeats must repeat
        (["b", "a"], ["a", "b"], False),
        (["a"], [], False),
    ],
)
def test_call_order_is_a_subsequence(order: list[str], calls: list[str], passes: bool) -> None:
    failures = check(CallOrderAssertion(order), calls=calls)
    assert (failures == []) is passes


def test_call_order_message_names_the_unmatched_step() -> None:
    [failure] = check(CallOrderAssertion(["a", "b", "c"]), calls=["a", "c"])
    assert "matched up to 'b' (step 2)" in failure.message
    assert failure.details == {"matched_steps": 1}


def test_all_failures_collected_in_order() -> None:
    failures = grade(
        [
            MustCallAssertion(["x"]),
            RequiredFieldsAssertion(["a"]),
            JsonSchemaAssertion(SCHEMA_PATH),
            MustNotCallAssertion(["y"]),
            CallOrderAssertion(["y", "x"]),
        ],
        {"category": "bug", "priority": 1},
        ["y"],
        {SCHEMA_PATH: SCHEMA},
    )
    assert [f.type for f in failures] == [
        "must_call",
        "required_fields",
        "must_not_call",
        "call_order",
    ]
