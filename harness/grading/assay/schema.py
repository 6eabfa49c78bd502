"""The shape of an Assay V1 `eval.yaml`: its keys as msgspec structs, unknown keys refused.
`expected` and `assertions` accept Assay 5.4's types plus the ones its V1 reference promised."""

from __future__ import annotations

from typing import Any

import msgspec

from harness.config.schema import GraderSpec
from harness.grading import calls, output
from harness.grading.assay import fixtures, metrics


class _Spec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    pass


class AssayJsonSchema(GraderSpec, frozen=True, tag="json_schema"):
    json_schema: str | None = None  # JSON text; Assay requires it even beside schema_file
    schema_file: str | None = None


class JudgeCriteria(GraderSpec, frozen=True, tag="judge_criteria"):
    judge_criteria: Any = None


class ToolDescriptionIntegrity(GraderSpec, frozen=True, tag="tool_description_integrity"):
    pinned_tools: list[Any] = msgspec.field(default_factory=list)


class ToolCollisionDetect(GraderSpec, frozen=True, tag="tool_collision_detect"):
    trusted_servers: list[str] = msgspec.field(default_factory=list)


class Ref(GraderSpec, frozen=True, tag="$ref"):
    path: str


Expected = (
    output.MustContain
    | output.MustNotContain
    | output.RegexMatch
    | output.RegexNotMatch
    | AssayJsonSchema
    | output.JsonMatch
    | output.ExactMatch
    | metrics.SemanticSimilarity
    | metrics.Faithfulness
    | metrics.Relevance
    | JudgeCriteria
    | metrics.ArgsValid
    | metrics.SequenceValid
    | metrics.ToolBlocklist
    | metrics.ToolOutputValid
    | ToolDescriptionIntegrity
    | ToolCollisionDetect
    | Ref
)
Assertion = (
    calls.TraceMustCallTool
    | calls.TraceMustNotCallTool
    | calls.TraceToolSequence
    | calls.TraceMaxSteps
    | fixtures.ArgsValidFixture
    | fixtures.SequenceValidFixture
    | fixtures.ToolBlocklistFixture
    | calls.TraceNoToolCall
    | calls.TraceToolArgsMatch
    | calls.TraceToolArgsSchema
    | calls.TraceNoToolErrors
    | calls.TraceToolCallCount
)


class InputFile(_Spec, frozen=True):
    prompt: str
    context: list[str] | str | None = None  # Assay: a list; its V1 reference: a string


class TestFile(_Spec, frozen=True):
    id: str
    input: str | InputFile
    expected: Expected | None = None
    assertions: list[Assertion] | None = None
    on_error: str | None = None
    tags: list[str] = msgspec.field(default_factory=list)
    metadata: Any = None
    description: str | None = None  # the V1 reference's; Assay 5.4 refuses it


class AssayFile(_Spec, frozen=True):
    model: str
    tests: list[TestFile]
    suite: str | None = None  # Assay requires it; its V1 reference never mentions it
    configVersion: int = 0  # Assay's key (alias `version`)
    thresholds: Any = None  # parsed by Assay, never used
    otel: Any = None
