"""Assay's `expected:` metrics that harness's public graders do not cover, with Assay 5.4's
semantics: semantic_similarity_to and faithfulness/relevance (read from the trace's `meta`),
args_valid, sequence_valid, tool_blocklist and tool_output_valid (read the tool calls).

One deliberate difference: a judge result with split votes (0 < score < 1, or an `Abstain`
verdict) is `uncertain` here. Assay marks it unstable, then reports it as a pass.
"""

from __future__ import annotations

import fnmatch
import math
import re
from typing import Any

from harness.config.schema import GraderSpec
from harness.grading.context import GradingContext, ToolCall
from harness.grading.schemas import schema_errors
from harness.grading.verdict import ERRORED, UNCERTAIN, Verdict, verdict, with_status

EPSILON = 1e-6
# Keys that make a mapping a JSON Schema rather than a map of tool name -> schema.
SCHEMA_KEYWORDS = frozenset(
    [
        "type",
        "properties",
        "required",
        "items",
        "enum",
        "const",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        "$ref",
        "additionalProperties",
        "pattern",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "patternProperties",
        "if",
        "then",
        "else",
    ]
)
STRUCTURED_KEYS = frozenset({"version", "name", "allow", "deny", "tools", "schemas", "enforcement"})
EXECUTABLE_RULES = ("require", "before", "blocklist")


class SemanticSimilarity(GraderSpec, frozen=True, tag="semantic_similarity_to"):
    semantic_similarity_to: str
    min_score: float = 0.8
    thresholding: Any = None


class Faithfulness(GraderSpec, frozen=True, tag="faithfulness"):
    min_score: float = 0.8
    rubric_version: str | None = None
    thresholding: Any = None


class Relevance(GraderSpec, frozen=True, tag="relevance"):
    min_score: float = 0.8
    rubric_version: str | None = None
    thresholding: Any = None


class ArgsValid(GraderSpec, frozen=True, tag="args_valid"):
    schema: Any = None  # a tool -> schema map, one schema, or a structured policy
    policy: str | None = None  # a policy file; its content is loaded into `schema`


class SequenceValid(GraderSpec, frozen=True, tag="sequence_valid"):
    sequence: list[str] | None = None
    rules: list[dict[str, Any]] | None = None
    policy: str | None = None  # a policy file whose `sequences` become `rules`


class ToolBlocklist(GraderSpec, frozen=True, tag="tool_blocklist"):
    blocked: list[str]


class ToolOutputValid(GraderSpec, frozen=True, tag="tool_output_valid"):
    schemas: dict[str, Any] | None = None


def _meta(context: GradingContext, *keys: str) -> Any:
    value: Any = context.meta
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def grade_semantic(spec: SemanticSimilarity, context: GradingContext) -> Verdict:
    response = _meta(context, "assay", "embeddings", "response")
    reference = _meta(context, "assay", "embeddings", "reference")
    if not _vector(response) or not _vector(reference) or len(response) != len(reference):
        return with_status(
            spec,
            ERRORED,
            "embeddings missing from the trace's meta.assay.embeddings (harness has no embedder;"
            " precompute them into the trace)",
            details={"run_error_kind": "replay_missing_dependency"},
        )
    dot = sum(a * b for a, b in zip(response, reference, strict=True))
    norms = math.sqrt(sum(a * a for a in response)) * math.sqrt(sum(b * b for b in reference))
    score = dot / norms if norms else 0.0
    passed = score + EPSILON >= spec.min_score
    evidence = f"cosine similarity {score:.3f} (min_score {spec.min_score})"
    return verdict(spec, passed, evidence, score=score, expected=spec.min_score, observed=score)


def _vector(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in value)
    )


def grade_judge_meta(spec: Faithfulness | Relevance, context: GradingContext) -> Verdict:
    name = str(spec.__struct_config__.tag)
    data = _meta(context, "assay", "judge", name)
    if not isinstance(data, dict):
        evidence = f"judge result missing: no meta.assay.judge.{name} in the trace"
        return verdict(spec, False, evidence, score=0.0)
    passed = data.get("passed") is True
    raw = data.get("score")
    score = float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else 0.0
    details = {**data, "exercised": "exercised"}
    if data.get("verdict") == "Abstain" or 0 < score < 1:
        # Assay calls this unstable and reports a pass; a split vote decides nothing.
        evidence = f"judge uncertain: {name} votes split (agreement {score:.2f})"
        return with_status(
            spec, UNCERTAIN, evidence, score=score, details={**details, "verdict": "Abstain"}
        )
    ok = passed and score + EPSILON >= spec.min_score
    evidence = "passed" if ok else f"failed judge check (score={score:.2f})"
    return verdict(spec, ok, f"{name} {evidence}", score=score, details=details)


def grade_args_valid(spec: ArgsValid, context: GradingContext) -> Verdict:
    policy = spec.schema
    if not context.calls:
        return verdict(spec, True, "no tool calls to validate", details=_not_exercised())
    for call in context.calls:
        problem = _args_problem(policy, call)
        if problem is not None:
            evidence = f"call {call.index + 1} ({call.name}): {problem}"
            return verdict(spec, False, evidence, score=0.0, observed=call.args)
    return verdict(spec, True, f"{len(context.calls)} call(s) valid", score=1.0)


def _not_exercised() -> dict[str, Any]:
    return {"exercised": "not_exercised"}


def policy_kind(policy: Any) -> str:
    """`schema` (one JSON Schema), `structured` (allow/deny/schemas) or `map` (tool -> schema)."""
    if not isinstance(policy, dict) or any(key in SCHEMA_KEYWORDS for key in policy):
        return "schema"
    if policy.keys() & (STRUCTURED_KEYS - {"version", "name"}) and all(
        key in STRUCTURED_KEYS or key == "$defs" for key in policy
    ):
        return "structured"
    return "map"


def _args_problem(policy: Any, call: ToolCall) -> str | None:
    kind = policy_kind(policy)
    if kind == "schema":
        return _schema_problem(policy, call.args)
    if kind == "map":
        schema = policy.get(call.name)
        return None if schema is None else _schema_problem(schema, call.args)
    tools = policy.get("tools") if isinstance(policy.get("tools"), dict) else {}
    deny = [*policy.get("deny", []), *tools.get("deny", [])]
    allow = [*policy.get("allow", []), *tools.get("allow", [])]
    if any(fnmatch.fnmatchcase(call.name, pattern) for pattern in deny):
        return f"tool {call.name!r} is denied"
    if allow and not any(fnmatch.fnmatchcase(call.name, pattern) for pattern in allow):
        return f"tool {call.name!r} is not in the allowlist"
    schema = (policy.get("schemas") or {}).get(call.name)
    if schema is not None:
        return _schema_problem(schema, call.args)
    unconstrained = (policy.get("enforcement") or {}).get("unconstrained_tools")
    if unconstrained == "deny":
        return f"tool {call.name!r} has no schema and unconstrained tools are denied"
    return None


def _schema_problem(schema: Any, instance: Any) -> str | None:
    errors = schema_errors(schema, instance)
    if not errors:
        return None
    return "; ".join(f"{e['path']}: {e['message']}" for e in errors[:5])


def grade_sequence_valid(spec: SequenceValid, context: GradingContext) -> Verdict:
    names = context.call_names
    if spec.sequence is not None and names != spec.sequence:
        evidence = f"expected exactly {spec.sequence}, got {names}"
        return verdict(spec, False, evidence, score=0.0, expected=spec.sequence, observed=names)
    for rule in spec.rules or []:
        problem = _rule_problem(rule, context.calls)
        if problem is not None:
            return verdict(spec, False, problem, score=0.0, observed=names)
    return verdict(spec, True, "sequence holds", score=1.0)


def _rule_problem(rule: dict[str, Any], calls: tuple[ToolCall, ...]) -> str | None:
    kind = rule.get("type")
    if kind == "require":
        found = _first(rule.get("tool"), calls)
        return (
            None if found is not None else f"required tool {_shown(rule.get('tool'))} never called"
        )
    if kind == "before":
        first, then = _first(rule.get("first"), calls), _first(rule.get("then"), calls)
        if then is None:
            return None  # "not exercised": Assay passes it
        if first is None or first > then:
            return f"{_shown(rule.get('first'))} must come before {_shown(rule.get('then'))}"
        return None
    pattern = str(rule.get("pattern", ""))
    hit = next((call.name for call in calls if pattern in call.name), None)
    return None if hit is None else f"tool {hit!r} matches blocked pattern {pattern!r}"


def _first(selector: Any, calls: tuple[ToolCall, ...]) -> int | None:
    for call in calls:
        if _selects(selector, call):
            return call.index
    return None


def _selects(selector: Any, call: ToolCall) -> bool:
    if isinstance(selector, str):
        return call.name == selector
    if not isinstance(selector, dict) or call.name != selector.get("tool"):
        return False
    args = call.args if isinstance(call.args, dict) else {}
    for name, pattern in (selector.get("args_match") or {}).items():
        value = args.get(name)
        text = value if isinstance(value, str) else ("" if value is None else str(value))
        if name not in args or re.search(str(pattern), text) is None:
            return False
    return True


def _shown(selector: Any) -> str:
    if isinstance(selector, dict):
        return f"{selector.get('tool')}[{','.join(selector.get('args_match') or {})}]"
    return repr(selector)


def grade_blocklist(spec: ToolBlocklist, context: GradingContext) -> Verdict:
    hits = [call for call in context.calls if call.name in spec.blocked]
    if not hits:
        return verdict(spec, True, f"no call to {', '.join(spec.blocked)}", score=1.0)
    first = hits[0]
    evidence = f"blocked tool {first.name!r} called (call {first.index + 1})"
    return verdict(spec, False, evidence, score=0.0, expected=spec.blocked, observed=first.name)


def grade_output_valid(spec: ToolOutputValid, context: GradingContext) -> Verdict:
    schemas = spec.schemas or {}
    checked = 0
    for call in context.calls:
        schema = schemas.get(call.name)
        if schema is None or call.failed or call.result is None:
            continue
        checked += 1
        problem = _schema_problem(schema, call.result)
        if problem is not None:
            evidence = f"result of call {call.index + 1} ({call.name}): {problem}"
            return verdict(spec, False, evidence, score=0.0, observed=call.result)
    details = None if checked else _not_exercised()
    return verdict(spec, True, f"{checked} result(s) valid", score=1.0, details=details)


def rule_problem(rule: Any) -> str | None:
    """Why a sequence rule cannot run here (Assay refuses the same ones), else None."""
    if not isinstance(rule, dict) or "type" not in rule:
        return "a rule is a mapping with a `type`"
    kind = rule["type"]
    known = (*EXECUTABLE_RULES, "eventually", "max_calls", "after", "never_after", "sequence")
    if kind not in known:
        return f"unknown sequence rule {kind!r}; executable: {', '.join(EXECUTABLE_RULES)}"
    if kind not in EXECUTABLE_RULES:
        return f"sequence rule {kind} is not executable by sequence_valid"
    if kind == "before" and rule.get("first") == rule.get("then"):
        return "a before rule with identical tools cannot constrain a trace"
    return None


def is_error(v: Verdict) -> bool:
    return v.status == ERRORED
