"""Trace assertions over an ordered call list: Assay's four with its semantics, the five its V1
reference promised, `tool` and `tool_name` alike, and what zero calls means."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.config.schema import GraderSpec
from harness.grading.calls import (
    TraceMaxSteps,
    TraceMustCallTool,
    TraceMustNotCallTool,
    TraceNoToolCall,
    TraceNoToolErrors,
    TraceToolArgsMatch,
    TraceToolArgsSchema,
    TraceToolCallCount,
    TraceToolSequence,
    subset_mismatch,
)
from harness.grading.catalogue import grader_of
from harness.grading.context import GradingContext, ToolCall
from harness.grading.verdict import Verdict


def call(name: str, args: Any = None, *, ok: bool = True, error: Any = None) -> dict[str, Any]:
    return {"name": name, "args": args or {}, "ok": ok, "error": error}


def context(*calls: dict[str, Any], steps: int = 0) -> GradingContext:
    records = tuple(ToolCall(index=i, **item) for i, item in enumerate(calls))
    return GradingContext(output="done", calls=records, steps=steps)


def run(spec: GraderSpec, ctx: GradingContext) -> Verdict:
    result = grader_of(spec).grade(spec, ctx)
    assert isinstance(result, Verdict)
    return result


TRACE = context(
    call("login", {"user": "ann"}),
    call("search", {"query": "shoes", "page": 1}),
    call("search", {"query": "red shoes", "page": 2}),
    call("logout"),
)


def test_must_call_counts_calls_and_accepts_either_tool_key() -> None:
    assert run(TraceMustCallTool(tool="search"), TRACE).passed
    assert run(TraceMustCallTool(tool_name="search", min_calls=2), TRACE).passed
    verdict = run(TraceMustCallTool(tool="search", min_calls=3), TRACE)
    assert not verdict.passed
    assert verdict.evidence == (
        "'search' called 2 time(s) (expected at least 3); "
        "calls made: login -> search -> search -> logout"
    )
    assert (verdict.expected, verdict.observed) == (">= 3", 2)


@pytest.mark.parametrize("kind", [TraceMustNotCallTool, TraceNoToolCall])
def test_must_not_call_and_no_tool_call(kind: type[TraceNoToolCall]) -> None:
    assert run(kind(tool_name="delete"), TRACE).passed
    verdict = run(kind(tool="search"), TRACE)
    assert not verdict.passed
    assert verdict.evidence.startswith(
        "'search' called 2 time(s) (expected never), at call(s) 2, 3"
    )


def test_args_match_checks_every_call_as_a_subset() -> None:
    assert run(TraceToolArgsMatch(tool="login", args={"user": "ann"}), TRACE).passed
    verdict = run(TraceToolArgsMatch(tool_name="search", args={"query": "shoes"}), TRACE)
    assert not verdict.passed
    assert verdict.evidence == "call 3 (search) has $.query = 'red shoes', expected 'shoes'"
    assert verdict.details == {"call_index": 2, "path": "$.query"}


def test_args_match_numbers_by_value_and_missing_keys() -> None:
    ctx = context(call("pay", {"amount": 10, "meta": {"currency": "EUR", "x": 1}}))
    assert run(TraceToolArgsMatch(tool="pay", args={"amount": 10.0}), ctx).passed
    assert run(TraceToolArgsMatch(tool="pay", args={"meta": {"currency": "EUR"}}), ctx).passed
    verdict = run(TraceToolArgsMatch(tool="pay", args={"note": "x"}), ctx)
    assert verdict.evidence == "call 1 (pay) has $.note = '<missing>', expected 'x'"


def test_args_match_with_zero_calls_fails_unless_told_otherwise() -> None:
    verdict = run(TraceToolArgsMatch(tool="refund", args={"amount": 1}), TRACE)
    assert not verdict.passed
    assert "'refund' was never called" in verdict.evidence
    spec = TraceToolArgsMatch(tool="refund", args={"amount": 1}, on_zero_calls="pass")
    assert run(spec, TRACE).passed


def test_args_schema() -> None:
    schema = {"required": ["query"], "properties": {"query": {"type": "string", "minLength": 6}}}
    verdict = run(TraceToolArgsSchema(tool="search", schema=schema), TRACE)
    assert not verdict.passed
    assert verdict.evidence == (
        'call 2 (search) args do not match the schema: $.query: "shoes" is shorter than 6 '
        "characters"
    )
    loose = {"properties": {"query": {"type": "string"}}}
    assert run(TraceToolArgsSchema(tool="search", schema=loose), TRACE).passed
    assert not run(TraceToolArgsSchema(tool="nope", schema=loose), TRACE).passed


def test_sequence_subsequence_and_exact() -> None:
    assert run(TraceToolSequence(sequence=["login", "logout"]), TRACE).passed
    assert not run(TraceToolSequence(sequence=["logout", "login"]), TRACE).passed
    exact = ["login", "search", "search", "logout"]
    assert run(TraceToolSequence(sequence=exact, allow_other_tools=False), TRACE).passed
    verdict = run(TraceToolSequence(sequence=["login", "logout"], allow_other_tools=False), TRACE)
    assert verdict.evidence == (
        "expected exactly login -> logout, got login -> search -> search -> logout"
    )
    # Assay: an empty exact sequence means "no tool calls at all".
    assert run(TraceToolSequence(sequence=[], allow_other_tools=False), context()).passed
    assert not run(TraceToolSequence(sequence=[], allow_other_tools=False), TRACE).passed


def test_sequence_failure_names_the_step_that_never_came() -> None:
    verdict = run(TraceToolSequence(sequence=["login", "pay", "logout"]), TRACE)
    assert verdict.evidence.startswith("expected login -> pay -> logout in order (others allowed)")
    assert "step 2 ('pay') never came" in verdict.evidence


def test_no_tool_errors_reads_ok_false_and_error_values() -> None:
    assert run(TraceNoToolErrors(), TRACE).passed
    ctx = context(call("a"), call("b", ok=False, error="timeout"), call("c", error="boom"))
    verdict = run(TraceNoToolErrors(), ctx)
    assert not verdict.passed
    assert verdict.evidence == ("2 of 3 tool calls returned an error; first: call 2 (b): 'timeout'")
    assert run(TraceNoToolErrors(tool="a"), ctx).passed


def test_call_count_bounds() -> None:
    assert run(TraceToolCallCount(tool="search", min=1, max=2), TRACE).passed
    verdict = run(TraceToolCallCount(tool_name="search", max=1), TRACE)
    assert verdict.evidence == "'search' called 2 time(s) (expected 0..1)"
    assert run(TraceToolCallCount(max=4), TRACE).passed
    assert not run(TraceToolCallCount(min=5), TRACE).passed


def test_max_steps() -> None:
    assert run(TraceMaxSteps(max=5), context(steps=5)).passed
    verdict = run(TraceMaxSteps(max=4), context(steps=5))
    assert verdict.evidence == "5 step(s) (expected at most 4)"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=10,
)


@given(JSON)
def test_every_value_contains_itself(value: Any) -> None:
    assert subset_mismatch(value, value, "$") is None


@given(st.dictionaries(st.text(max_size=3), JSON, max_size=4), st.data())
def test_key_order_never_matters(args: dict[str, Any], data: st.DataObject) -> None:
    keys = data.draw(st.permutations(list(args)))
    reordered = {key: args[key] for key in keys}
    assert subset_mismatch(args, reordered, "$") is None


@given(st.dictionaries(st.text(max_size=3), JSON, min_size=1, max_size=4))
def test_extra_keys_in_the_call_are_allowed(args: dict[str, Any]) -> None:
    assert subset_mismatch(args, {**args, "\x00extra": 1}, "$") is None
