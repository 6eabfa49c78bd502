"""Assay's own metrics and fixture assertions as grader types (graded like every grader,
accepted only in Assay configs), with their load-time checks."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import msgspec

from harness.config.runledger import load_json_schema
from harness.config.yaml_source import read_yaml
from harness.errors import ConfigError
from harness.grading.assay import fixtures, metrics
from harness.grading.preparation import Preparation
from harness.grading.registry import GraderType
from harness.grading.schemas import schema_asserts_nothing


def _policy_file(relative: str, where: Preparation) -> Any:
    """A policy file: relative to the config's folder, else (Assay's rule) to the cwd."""

    for base in (where.base_dir, Path.cwd()):
        found = Path(os.path.abspath(base / relative))
        if found.is_file():
            target = where.contained(str(found), "policy", "policy file")
            if target is None:
                return None
            try:
                return load_json_schema(target) if target.suffix == ".json" else _yaml(target)
            except ConfigError as exc:
                where.problems.add(exc)
                return None
    where.error(f"policy file {relative!r} not found (relative to the config or the cwd)", "policy")
    return None


def _yaml(target: Path) -> Any:

    return read_yaml(target).value


def prepare_args_valid(spec: metrics.ArgsValid, where: Preparation) -> Any:
    if spec.policy is not None and spec.schema is None:
        loaded = _policy_file(spec.policy, where)
        return msgspec.structs.replace(spec, schema=loaded) if loaded is not None else spec
    if spec.schema is None:
        where.error("give `schema` (inline) or `policy` (a file)")
    return spec


def args_valid_ineffective(spec: metrics.ArgsValid) -> str | None:
    policy = spec.schema
    if policy is None:
        return None
    kind = metrics.policy_kind(policy)
    if kind == "schema" and schema_asserts_nothing(policy):
        return "the schema accepts every argument"
    if kind == "map" and all(schema_asserts_nothing(s) for s in policy.values()):
        return "policy/schema asserts nothing"
    return None


def prepare_sequence_valid(spec: metrics.SequenceValid, where: Preparation) -> Any:
    rules = spec.rules
    if spec.policy is not None and rules is None:
        loaded = _policy_file(spec.policy, where)
        found = loaded.get("sequences") if isinstance(loaded, dict) else loaded
        if loaded is not None and not isinstance(found, list):
            where.error("the policy file has no `sequences:` list", "policy")
        rules = found if isinstance(found, list) else None
    for i, rule in enumerate(rules or []):
        problem = metrics.rule_problem(rule)
        if problem is not None:
            where.error(f"expected block is not executable: {problem}", f"rules[{i}]")
    return msgspec.structs.replace(spec, rules=rules)


def sequence_valid_ineffective(spec: metrics.SequenceValid) -> str | None:
    if spec.sequence is None and not spec.rules:
        return "policy/sequence/rules asserts nothing"
    return None


def blocklist_ineffective(spec: metrics.ToolBlocklist) -> str | None:
    return None if spec.blocked else "blocked is empty"


def output_valid_ineffective(spec: metrics.ToolOutputValid) -> str | None:
    if not spec.schemas or all(schema_asserts_nothing(s) for s in spec.schemas.values()):
        return "schemas asserts nothing"
    return None


def prepare_min_score(spec: Any, where: Preparation) -> Any:
    low = -1.0 if isinstance(spec, metrics.SemanticSimilarity) else 0.0
    if not low <= spec.min_score <= 1:
        where.error(f"must be between {low:g} and 1, got {spec.min_score}", "min_score")
    return spec


def semantic_ineffective(spec: metrics.SemanticSimilarity) -> str | None:
    if spec.min_score <= -1 + metrics.EPSILON:
        return "min_score accepts every similarity"
    return None


ASSAY = "assay"
ASSAY_GRADERS = [
    GraderType(
        "semantic_similarity_to",
        metrics.SemanticSimilarity,
        metrics.grade_semantic,
        "Cosine of the trace's precomputed embeddings (response vs reference) >= min_score.",
        ASSAY,
        {
            "semantic_similarity_to": "reference text (`text` too)",
            "min_score": "default 0.8 (`threshold` too)",
            "thresholding": "{max_drop}: with a relative baseline",
        },
        prepare_min_score,
        semantic_ineffective,
    ),
    *[
        GraderType(
            name,
            kind,
            metrics.grade_judge_meta,
            f"The trace's meta.assay.judge.{name}: passed and score >= min_score; split "
            "votes are uncertain.",
            ASSAY,
            {
                "min_score": "default 0.8",
                "rubric_version": "recorded only",
                "thresholding": "{max_drop}: with a relative baseline",
            },
            prepare_min_score,
        )
        for name, kind in (("faithfulness", metrics.Faithfulness), ("relevance", metrics.Relevance))
    ],
    GraderType(
        "args_valid",
        metrics.ArgsValid,
        metrics.grade_args_valid,
        "Every call's args validate (tool -> schema map, one schema, or allow/deny/schemas "
        "policy); zero calls pass, as in Assay.",
        ASSAY,
        {"schema": "inline", "policy": "or a file"},
        prepare_args_valid,
        args_valid_ineffective,
    ),
    GraderType(
        "sequence_valid",
        metrics.SequenceValid,
        metrics.grade_sequence_valid,
        "`sequence`: the calls are exactly these; `rules`: require, before, blocklist.",
        ASSAY,
        {"sequence": "tool names", "rules": "list", "policy": "a file with `sequences:`"},
        prepare_sequence_valid,
        sequence_valid_ineffective,
    ),
    GraderType(
        "tool_blocklist",
        metrics.ToolBlocklist,
        metrics.grade_blocklist,
        "No call's name is exactly one of `blocked`.",
        ASSAY,
        {"blocked": "tool names (no globs)"},
        ineffective=blocklist_ineffective,
    ),
    GraderType(
        "tool_output_valid",
        metrics.ToolOutputValid,
        metrics.grade_output_valid,
        "Each call's result validates against its tool's schema (errored calls skipped).",
        ASSAY,
        {"schemas": "tool -> JSON Schema"},
        ineffective=output_valid_ineffective,
    ),
    GraderType(
        "args_valid",
        fixtures.ArgsValidFixture,
        fixtures.grade_args_fixture,
        "Assertion (unit-test mode): `test_args` against `policy`, outcome must be `expect`.",
        ASSAY,
        {
            "tool": "the tool the args are for",
            "test_args": "the arguments to test (required)",
            "policy": "a JSON Schema, or {schema: ...}",
            "expect": "pass (default) | fail",
        },
        fixtures.prepare_args_fixture,
        fixtures.args_fixture_ineffective,
    ),
    GraderType(
        "sequence_valid",
        fixtures.SequenceValidFixture,
        fixtures.grade_sequence_fixture,
        "Assertion (unit-test mode): `test_trace_raw` names joined by spaces ~ policy.regex.",
        ASSAY,
        {
            "test_trace": "ignored, as in Assay",
            "test_trace_raw": "[{tool: name}, ...]",
            "policy": "{regex: ...}",
            "expect": "pass (default) | fail",
        },
        fixtures.prepare_sequence_fixture,
    ),
    GraderType(
        "tool_blocklist",
        fixtures.ToolBlocklistFixture,
        fixtures.grade_blocklist_fixture,
        "Assertion (unit-test mode): `test_tool_calls` against policy.blocked.",
        ASSAY,
        {
            "test_tool_calls": "tool names",
            "policy": "{blocked: [name, ...]}",
            "expect": "pass (default) | fail",
        },
        fixtures.prepare_blocklist_fixture,
    ),
]
