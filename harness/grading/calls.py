"""Trace assertions: checks on the tool calls an attempt made, in the order it made them.

Assay's four (`trace_must_call_tool`, `trace_must_not_call_tool`, `trace_tool_sequence`,
`trace_max_steps`) with its semantics, and the five its V1 reference promised but never built
(`trace_no_tool_call`, `trace_tool_args_match`, `trace_tool_args_schema`,
`trace_no_tool_errors`, `trace_tool_call_count`). The tool is named by `tool` (Assay's code)
or `tool_name` (Assay's reference); either works.
"""

from __future__ import annotations

from typing import Any

import msgspec

from harness.config.schema import GraderSpec
from harness.grading.context import GradingContext, ToolCall
from harness.grading.preparation import Preparation
from harness.grading.schemas import schema_asserts_nothing, schema_errors
from harness.grading.verdict import Verdict, shorten, verdict

ON_ZERO_CALLS = ("fail", "pass")


class _Tool(GraderSpec, frozen=True, kw_only=True):
    tool: str | None = None
    tool_name: str | None = None

    @property
    def target(self) -> str | None:
        return self.tool if self.tool is not None else self.tool_name


class TraceMustCallTool(_Tool, frozen=True, tag="trace_must_call_tool"):
    min_calls: int = 1


class TraceMustNotCallTool(_Tool, frozen=True, tag="trace_must_not_call_tool"):
    pass


class TraceNoToolCall(_Tool, frozen=True, tag="trace_no_tool_call"):
    pass


class TraceToolArgsMatch(_Tool, frozen=True, tag="trace_tool_args_match"):
    args: dict[str, Any]
    on_zero_calls: str = "fail"


class TraceToolArgsSchema(_Tool, frozen=True, tag="trace_tool_args_schema"):
    schema: Any = None
    schema_file: str | None = None
    on_zero_calls: str = "fail"


class TraceToolSequence(GraderSpec, frozen=True, tag="trace_tool_sequence"):
    sequence: list[str]
    # Assay's code requires it; its V1 reference omits it and describes the subsequence.
    allow_other_tools: bool = True


class TraceNoToolErrors(_Tool, frozen=True, tag="trace_no_tool_errors"):
    pass


class TraceToolCallCount(_Tool, frozen=True, tag="trace_tool_call_count"):
    min: int | None = None
    max: int | None = None


class TraceMaxSteps(GraderSpec, frozen=True, tag="trace_max_steps"):
    max: int


def _names(calls: list[str]) -> str:
    return " -> ".join(calls) if calls else "no calls"


def grade_must_call(spec: TraceMustCallTool, context: GradingContext) -> Verdict:
    tool = spec.target
    count = len(context.calls_of(tool))
    passed = count >= spec.min_calls
    evidence = f"{tool!r} called {count} time(s) (expected at least {spec.min_calls})"
    if not passed:
        evidence += f"; calls made: {_names(context.call_names)}"
    return verdict(spec, passed, evidence, expected=f">= {spec.min_calls}", observed=count)


def grade_must_not_call(
    spec: TraceMustNotCallTool | TraceNoToolCall, ctx: GradingContext
) -> Verdict:
    tool = spec.target
    calls = ctx.calls_of(tool)
    if not calls:
        return verdict(spec, True, f"{tool!r} never called")
    positions = ", ".join(str(call.index + 1) for call in calls)
    return verdict(
        spec,
        False,
        f"{tool!r} called {len(calls)} time(s) (expected never), at call(s) {positions}; "
        f"calls made: {_names(ctx.call_names)}",
        expected=0,
        observed=len(calls),
    )


def grade_args_match(spec: TraceToolArgsMatch, context: GradingContext) -> Verdict:
    tool = spec.target
    calls = context.calls_of(tool)
    if not calls:
        return _zero_calls(spec, tool, spec.on_zero_calls)
    for call in calls:
        mismatch = subset_mismatch(spec.args, call.args, "$")
        if mismatch is not None:
            path, want, got = mismatch
            return verdict(
                spec,
                False,
                f"call {call.index + 1} ({tool}) has {path} = {shorten(got)}, expected "
                f"{shorten(want)}",
                expected=spec.args,
                observed=call.args,
                details={"call_index": call.index, "path": path},
            )
    return verdict(spec, True, f"all {len(calls)} call(s) of {tool!r} match {shorten(spec.args)}")


def grade_args_schema(spec: TraceToolArgsSchema, context: GradingContext) -> Verdict:
    tool = spec.target
    calls = context.calls_of(tool)
    if not calls:
        return _zero_calls(spec, tool, spec.on_zero_calls)
    for call in calls:
        errors = schema_errors(spec.schema, call.args)
        if errors:
            shown = "; ".join(f"{e['path']}: {e['message']}" for e in errors[:5])
            return verdict(
                spec,
                False,
                f"call {call.index + 1} ({tool}) args do not match the schema: {shown}",
                expected=spec.schema_file or "the inline schema",
                observed=call.args,
                details={"call_index": call.index, "errors": errors},
            )
    return verdict(spec, True, f"all {len(calls)} call(s) of {tool!r} match the schema")


def _zero_calls(spec: Any, tool: str | None, policy: str) -> Verdict:
    # No call to check: by default that fails, because "every call matched" over no calls
    # would pass an agent that never called the tool at all.
    passed = policy == "pass"
    evidence = f"{tool!r} was never called, so no call could be checked (on_zero_calls: {policy})"
    return verdict(spec, passed, evidence, expected=f"calls of {tool}", observed=0)


def grade_sequence(spec: TraceToolSequence, context: GradingContext) -> Verdict:
    names = context.call_names
    want = spec.sequence
    if not spec.allow_other_tools:
        if names == want:
            return verdict(spec, True, f"calls are exactly {_names(want)}")
        return verdict(
            spec,
            False,
            f"expected exactly {_names(want)}, got {_names(names)}",
            expected=want,
            observed=names,
        )
    matched = 0
    for name in names:
        if matched < len(want) and name == want[matched]:
            matched += 1
    if matched == len(want):
        return verdict(spec, True, f"calls contain {_names(want)} in order")
    return verdict(
        spec,
        False,
        f"expected {_names(want)} in order (others allowed); step {matched + 1} "
        f"({want[matched]!r}) never came; calls made: {_names(names)}",
        expected=want,
        observed=names,
        details={"matched_steps": matched},
    )


def grade_no_errors(spec: TraceNoToolErrors, context: GradingContext) -> Verdict:
    calls = context.calls_of(spec.target)
    failed = [call for call in calls if call.failed]
    scope = f"calls of {spec.target!r}" if spec.target else "tool calls"
    if not failed:
        return verdict(spec, True, f"no errors in {len(calls)} {scope}")
    first = failed[0]
    return verdict(
        spec,
        False,
        f"{len(failed)} of {len(calls)} {scope} returned an error; first: call "
        f"{first.index + 1} ({first.name}): {shorten(first.error)}",
        expected=0,
        observed=len(failed),
        details={"errors": [_error_row(call) for call in failed]},
    )


def _error_row(call: ToolCall) -> dict[str, Any]:
    return {"index": call.index, "tool": call.name, "error": call.error}


def grade_call_count(spec: TraceToolCallCount, context: GradingContext) -> Verdict:
    count = len(context.calls_of(spec.target))
    low = spec.min if spec.min is not None else 0
    high = spec.max
    bounds = f"{low}..{high}" if high is not None else f">= {low}"
    scope = f"{spec.target!r}" if spec.target else "tools"
    passed = count >= low and (high is None or count <= high)
    return verdict(
        spec,
        passed,
        f"{scope} called {count} time(s) (expected {bounds})",
        expected=bounds,
        observed=count,
    )


def grade_max_steps(spec: TraceMaxSteps, context: GradingContext) -> Verdict:
    passed = context.steps <= spec.max
    evidence = f"{context.steps} step(s) (expected at most {spec.max})"
    return verdict(spec, passed, evidence, expected=spec.max, observed=context.steps)


def subset_mismatch(want: Any, got: Any, path: str) -> tuple[str, Any, Any] | None:
    """Where `got` fails to contain `want`: mappings by key (extra keys allowed), lists item by
    item (same length), numbers by value (1 == 1.0, never true == 1). None when contained."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return path, want, got
        for key, value in want.items():
            if key not in got:
                return f"{path}.{key}", value, "<missing>"
            found = subset_mismatch(value, got[key], f"{path}.{key}")
            if found is not None:
                return found
        return None
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return path, want, got
        for i, (item, other) in enumerate(zip(want, got, strict=True)):
            found = subset_mismatch(item, other, f"{path}[{i}]")
            if found is not None:
                return found
        return None
    if _scalar_key(want) != _scalar_key(got):
        return path, want, got
    return None


def _scalar_key(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return (type(value).__name__, value)
    return ("number", float(value))


# Load time -----------------------------------------------------------------------------------


def prepare_tool(spec: Any, where: Preparation, *, required: bool, callable_: bool) -> Any:
    given = [name for name in ("tool", "tool_name") if getattr(spec, name) is not None]
    if len(given) > 1:
        where.error("give the tool as `tool` or `tool_name`, not both", "tool_name")
    elif required and not given:
        where.error("missing required key; name the tool with `tool` (or `tool_name`)", "tool")
    elif given and not getattr(spec, given[0]):
        where.error("must not be empty", given[0])
    elif given:
        where.check_tool(getattr(spec, given[0]), given[0], must_be_callable=callable_)
    if hasattr(spec, "on_zero_calls") and spec.on_zero_calls not in ON_ZERO_CALLS:
        where.error(f"must be one of {', '.join(ON_ZERO_CALLS)}", "on_zero_calls")
    return spec


def prepare_args_schema(spec: TraceToolArgsSchema, where: Preparation) -> Any:
    prepare_tool(spec, where, required=True, callable_=False)
    if (spec.schema is None) == (spec.schema_file is None):
        where.error("give the schema inline as `schema` or as a file in `schema_file`, once")
        return spec
    if spec.schema_file is not None:
        schema = where.load_schema(spec.schema_file, "schema_file")
        return msgspec.structs.replace(spec, schema=schema) if schema is not None else spec
    where.check_schema(spec.schema, "schema")
    return spec


def prepare_call_count(spec: TraceToolCallCount, where: Preparation) -> Any:
    prepare_tool(spec, where, required=False, callable_=False)
    for name in ("min", "max"):
        value = getattr(spec, name)
        if value is not None and value < 0:
            where.error(f"must be 0 or more, got {value}", name)
    if spec.min is None and spec.max is None:
        where.error("give `min`, `max` or both")
    elif spec.min is not None and spec.max is not None and spec.min > spec.max:
        where.error(f"min ({spec.min}) is greater than max ({spec.max})", "min")
    return spec


def must_call_ineffective(spec: TraceMustCallTool) -> str | None:
    if spec.min_calls <= 0:
        return f"min_calls: {spec.min_calls} holds for every trace"
    return None


def args_match_ineffective(spec: TraceToolArgsMatch) -> str | None:
    if not spec.args and spec.on_zero_calls == "pass":
        return "`args: {}` matches every call and on_zero_calls: pass accepts no calls"
    return None


def args_schema_ineffective(spec: TraceToolArgsSchema) -> str | None:
    vacuous = spec.schema is not None and schema_asserts_nothing(spec.schema)
    if vacuous and spec.on_zero_calls == "pass":
        return "the schema accepts every call and on_zero_calls: pass accepts no calls"
    return None


def sequence_ineffective(spec: TraceToolSequence) -> str | None:
    if spec.allow_other_tools and not spec.sequence:
        return "an empty sequence with allow_other_tools: true is in every trace"
    return None


def call_count_ineffective(spec: TraceToolCallCount) -> str | None:
    if spec.max is None and (spec.min or 0) == 0:
        return "min: 0 without max holds for every trace"
    return None


def prepare_max_steps(spec: TraceMaxSteps, where: Preparation) -> Any:
    if spec.max < 0:
        where.error(f"must be 0 or more, got {spec.max}", "max")
    return spec
