"""Assay's three fixture assertions (`args_valid`, `sequence_valid`, `tool_blocklist` under
`assertions:`). As in Assay they test a policy against data written in the config itself,
never the trace: a unit test of the policy, passing when the outcome equals `expect`."""

from __future__ import annotations

import re
from typing import Any

from harness.config.schema import GraderSpec
from harness.grading.context import GradingContext
from harness.grading.preparation import Preparation
from harness.grading.schemas import schema_errors
from harness.grading.verdict import Verdict, verdict

EXPECTS = ("pass", "fail")


class ArgsValidFixture(GraderSpec, frozen=True, tag="args_valid"):
    tool: str
    test_args: Any = None
    policy: Any = None
    expect: str | None = None


class SequenceValidFixture(GraderSpec, frozen=True, tag="sequence_valid"):
    test_trace: Any = None  # accepted and ignored, as Assay does
    test_trace_raw: list[Any] | None = None
    policy: Any = None
    expect: str | None = None


class ToolBlocklistFixture(GraderSpec, frozen=True, tag="tool_blocklist"):
    test_tool_calls: list[str] | None = None
    policy: Any = None
    expect: str | None = None


def _outcome(spec: Any, actual: bool, what: str) -> Verdict:
    wanted = (spec.expect or "pass") == "pass"
    word = {True: "PASS", False: "FAIL"}
    evidence = f"{what}: expected {word[wanted]}, got {word[actual]}"
    return verdict(spec, actual == wanted, evidence, expected=word[wanted], observed=word[actual])


def grade_args_fixture(spec: ArgsValidFixture, context: GradingContext) -> Verdict:
    policy = spec.policy
    schema = policy.get("schema", policy) if isinstance(policy, dict) else policy
    errors = schema_errors(schema, spec.test_args)
    shown = "; ".join(f"{e['path']}: {e['message']}" for e in errors[:3])
    return _outcome(spec, not errors, f"args_valid({spec.tool})" + (f" [{shown}]" if shown else ""))


def _names(trace: list[Any] | None) -> str:
    return " ".join(
        str(step.get("tool", "")) if isinstance(step, dict) else str(step) for step in trace or []
    )


def grade_sequence_fixture(spec: SequenceValidFixture, context: GradingContext) -> Verdict:
    names = _names(spec.test_trace_raw)
    found = re.search(str(spec.policy["regex"]), names) is not None
    return _outcome(spec, found, f"sequence_valid({names!r} ~ /{spec.policy['regex']}/)")


def grade_blocklist_fixture(spec: ToolBlocklistFixture, context: GradingContext) -> Verdict:
    blocked = set(spec.policy.get("blocked") or [])
    hits = [name for name in spec.test_tool_calls or [] if name in blocked]
    return _outcome(spec, not hits, f"tool_blocklist({', '.join(hits) or 'no hit'})")


# Load time -----------------------------------------------------------------------------------


def _check_expect(spec: Any, where: Preparation) -> None:
    if spec.expect is not None and spec.expect not in EXPECTS:
        where.error(f"must be pass or fail, got {spec.expect!r}", "expect")


def prepare_args_fixture(spec: ArgsValidFixture, where: Preparation) -> Any:
    _check_expect(spec, where)
    if spec.policy is None:
        where.error("needs `policy` (a schema, or {schema: ...}) in unit-test mode", "policy")
    else:
        schema = (
            spec.policy.get("schema", spec.policy) if isinstance(spec.policy, dict) else spec.policy
        )
        where.check_schema(schema, "policy")
    return spec


def prepare_sequence_fixture(spec: SequenceValidFixture, where: Preparation) -> Any:
    _check_expect(spec, where)
    if spec.test_trace_raw is None:
        what = "`test_trace` is ignored; " if spec.test_trace is not None else ""
        where.error(f"{what}give the calls as `test_trace_raw: [{{tool: name}}, ...]`")
    regex = spec.policy.get("regex") if isinstance(spec.policy, dict) else None
    if not isinstance(regex, str):
        where.error("needs `policy: {regex: ...}`; without one it permits everything", "policy")
    else:
        where.compile_regex(regex, "policy.regex")
    return spec


def prepare_blocklist_fixture(spec: ToolBlocklistFixture, where: Preparation) -> Any:
    _check_expect(spec, where)
    blocked = spec.policy.get("blocked") if isinstance(spec.policy, dict) else None
    if not isinstance(blocked, list) or not blocked:
        where.error("needs `policy: {blocked: [name, ...]}`", "policy")
    if spec.test_tool_calls is None:
        where.error("needs `test_tool_calls: [name, ...]`", "test_tool_calls")
    return spec


def args_fixture_ineffective(spec: ArgsValidFixture) -> str | None:
    if spec.test_args is None:
        return "args_valid is only evaluated against `test_args`; without it nothing is checked"
    return None
