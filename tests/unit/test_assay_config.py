"""Assay compatibility, unit level: the config parser (legacy `expected` forms, V1-reference
promises, errors at their line), the three trace line formats, Assay's metrics and fixture
assertions, and the exit/reason-code decision order."""

from __future__ import annotations

import contextlib
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.assay import codes
from harness.assay.config import AssayConfigError, load_assay_config
from harness.assay.traces import TraceError, read_trace
from harness.errors import ConfigError
from harness.grading.assay import metrics
from harness.grading.assay.fixtures import (
    ArgsValidFixture,
    SequenceValidFixture,
    ToolBlocklistFixture,
)
from harness.grading.calls import TraceMustCallTool, TraceToolSequence
from harness.grading.context import GradingContext, ToolCall
from harness.grading.engine import run_grader
from harness.grading.output import JsonMatch, MustContain
from harness.grading.verdict import FAILED, PASSED, UNCERTAIN


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def config(text: str, **options: bool) -> Any:
    Path("eval.yaml").write_text("suite: s\nmodel: trace\n" + textwrap.dedent(text))
    return load_assay_config(Path("eval.yaml"), **options)


def errors(text: str, **options: bool) -> list[str]:
    with pytest.raises(AssayConfigError) as caught:
        config(text, **options)
    return str(caught.value).splitlines()


def test_legacy_expected_forms_become_tagged_checks() -> None:
    loaded = config(
        """\
        tests:
          - {id: a, input: p1, expected: {must_contain: Paris}}
          - {id: b, input: p2, expected: [{sequence: [x, y]}]}
          - {id: c, input: p3, expected: {schema: {x: {required: [q]}}}}
          - {id: d, input: p4, expected: {type: sequence, sequence: [x]}}
          - {id: e, input: p5, expected: {type: must_contain, must_contain: Rome}}
          - {id: f, input: p6, expected: {type: json_schema, json_schema: '{"type": "object"}'}}
        """
    )
    a, b, c, d, e, f = loaded.tests
    assert a.expected == MustContain(must_contain=["Paris"]) and a.metric == "must_contain"
    assert isinstance(b.expected, metrics.SequenceValid) and b.expected.sequence == ["x", "y"]
    assert isinstance(c.expected, metrics.ArgsValid) and c.metric == "args_valid"
    assert isinstance(d.expected, metrics.SequenceValid)
    assert e.expected == MustContain(must_contain=["Rome"])
    assert f.expected == JsonMatch(schema={"type": "object"}, name="json_schema")
    assert f.metric == "json_schema"


def test_string_and_mapping_inputs_and_the_version_alias() -> None:
    loaded = config(
        """\
        version: 1
        tests:
          - {id: a, input: "plain prompt", expected: {must_contain: x}}
          - id: b
            input: {prompt: "mapped", context: "a string context"}
            description: V1 reference field
            expected: {must_contain: x}
        """
    )
    assert loaded.version == 1
    assert [(t.prompt, t.context) for t in loaded.tests] == [
        ("plain prompt", ()),
        ("mapped", ("a string context",)),
    ]


def test_tool_and_tool_name_and_the_v1_sequence_default() -> None:
    loaded = config(
        """\
        tests:
          - id: a
            input: p
            assertions:
              - {type: trace_must_call_tool, tool_name: search}
              - {type: trace_tool_sequence, sequence: [a, b]}
        """
    )
    must, sequence = loaded.tests[0].assertions
    assert isinstance(must, TraceMustCallTool) and must.target == "search"
    assert isinstance(sequence, TraceToolSequence) and sequence.allow_other_tools is True


def test_parser_errors_name_line_and_field() -> None:
    assert errors(
        """\
        configVersion: "1"
        tests:
          - id: a
            input: p
            expected: [{must_contain: a}, {must_contain: b}]
          - id: b
            input: p
            expected: {must_contain: a, sequence: [x]}
        """
    ) == [
        'eval.yaml:3: configVersion: expected int, got str "1"',
        "eval.yaml:7: tests[0].expected: `expected:` has 2 entries but only one is supported"
        " (earlier Assay versions silently dropped all but the first); split the test or move"
        " the extra checks to `assertions:`",
        "eval.yaml:10: tests[1].expected: ambiguous legacy `expected:` with several checks"
        " (must_contain, sequence); use one tagged check and move the others to `assertions:`",
    ]


def test_runtime_refusals_and_duplicate_ids() -> None:
    found = errors(
        """\
        tests:
          - {id: c, input: p, expected: {type: judge_criteria, judge_criteria: {}}}
          - {id: c, input: q, expected: {$ref: other.yaml}}
          - {id: d, input: r}
        """
    )
    assert found == [
        "eval.yaml:4: tests[0].expected.type: expected block is not executable: judge_criteria"
        " has no registered evaluator (use faithfulness or relevance)",
        "eval.yaml:5: tests[1].expected.path: unresolved `$ref` to 'other.yaml' cannot run;"
        " inline it (`assay migrate` resolves it)",
        "eval.yaml:5: tests[1].id: duplicate test id 'c' (also tests[0]); ids must be unique",
        "eval.yaml:6: tests[2].id: this test has no `expected:` and no `assertions:`, so it passes"
        " for any response; add a check, or pass --allow-ineffective-assertions",
    ]


def test_settings_unknown_keys_warn_or_fail_with_deny_deprecations() -> None:
    text = "settings: {timeout: 5, colour: red}\n"
    text += "tests: [{id: a, input: p, expected: {must_contain: x}}]\n"
    loaded = config(text)
    assert loaded.settings == {"timeout_seconds": 5}
    assert loaded.warnings == (
        "settings.timeout: the V1 reference's name for `timeout_seconds`; read as timeout_seconds",
        "Ignored unknown config fields: settings.colour",
    )
    assert len(errors(text, deny_deprecations=True)) == 2


def test_a_missing_config_has_its_own_reason() -> None:
    with pytest.raises(AssayConfigError) as caught:
        load_assay_config(Path("nowhere.yaml"))
    assert caught.value.reason == "E_MISSING_CONFIG"


# Traces ---------------------------------------------------------------------------------------


def write_trace(*lines: dict[str, Any] | str) -> Path:
    path = Path("trace.jsonl")
    text = [line if isinstance(line, str) else json.dumps(line) for line in lines]
    path.write_text("\r\n".join(text) + "\n\n")
    return path


def test_the_three_line_formats() -> None:
    trace = read_trace(
        write_trace(
            {"prompt": "p1", "text": "r1", "tool": "t", "args": {"a": 1}},
            {
                "schema_version": 1,
                "type": "assay.trace",
                "request_id": "x",
                "prompt": "p2",
                "response": "r2",
                "meta": {"tool_calls": [{"tool_name": "u", "args": {}, "error": "boom"}]},
            },
            {
                "type": "episode_start",
                "episode_id": "e",
                "input": {"prompt": "p3"},
                "meta": {"test_id": "t3"},
            },
            {"type": "step", "episode_id": "e", "content": "draft"},
            {
                "type": "tool_call",
                "episode_id": "e",
                "step_id": "s",
                "tool_name": "v",
                "call_index": 0,
                "args": {},
                "error": {"code": 5},
            },
            {"type": "step", "episode_id": "e", "content": json.dumps({"completion": "final"})},
            {"type": "something_else"},
        )
    )
    first, second, third = trace.records
    assert (first.kind, first.response, [c.name for c in first.calls]) == ("legacy", "r1", ["t"])
    assert (second.kind, second.calls[0].failed) == ("v1", True)
    assert (third.kind, third.response, third.steps, third.test_id) == ("v2", "final", 2, "t3")
    assert third.calls[0].error == '{"code":5}'  # kept; Assay drops this call
    assert any("Assay drops this call" in w for w in trace.warnings)
    assert any("1 line(s) of other types ignored" in w for w in trace.warnings)
    assert trace.find("t3", "anything") is third
    assert trace.find("other", "p1") is first


def test_ambiguous_or_broken_traces_are_refused() -> None:
    same = {"prompt": "p", "response": "r"}
    with pytest.raises(TraceError, match=r"trace\.jsonl:2: a second record for the prompt 'p'"):
        read_trace(write_trace(same, same))
    with pytest.raises(TraceError, match=r"trace\.jsonl:2: not JSON"):
        read_trace(write_trace(same, "{oops"))
    orphan = {"type": "step", "episode_id": "nope"}
    with pytest.raises(TraceError, match="before its episode_start"):
        read_trace(write_trace(orphan))


@given(st.binary(max_size=300))
def test_any_bytes_read_or_raise_a_config_error(data: bytes) -> None:
    path = Path("fuzz.jsonl")
    path.write_bytes(data)
    with contextlib.suppress(ConfigError):
        read_trace(path)


# Metrics, fixtures, codes ---------------------------------------------------------------------


def ctx(*calls: tuple[str, Any], meta: dict[str, Any] | None = None) -> GradingContext:
    records = tuple(
        ToolCall(name, args, i, result={"ok": 1}) for i, (name, args) in enumerate(calls)
    )
    return GradingContext(output="x", calls=records, meta=meta or {})


async def test_args_valid_forms() -> None:
    schema = {"pay": {"required": ["amount"]}}
    assert (await run_grader(metrics.ArgsValid(schema=schema), ctx(("pay", {"amount": 1})))).passed
    bad = await run_grader(metrics.ArgsValid(schema=schema), ctx(("pay", {})))
    assert bad.evidence == 'call 1 (pay): $: "amount" is a required property'
    assert (await run_grader(metrics.ArgsValid(schema=schema), ctx())).passed  # zero calls
    policy = {"deny": ["delete_*"], "schemas": {}}
    denied = await run_grader(metrics.ArgsValid(schema=policy), ctx(("delete_all", {})))
    assert denied.evidence == "call 1 (delete_all): tool 'delete_all' is denied"


async def test_sequence_valid_rules_and_blocklist() -> None:
    rules: list[dict[str, Any]] = [
        {"type": "require", "tool": "login"},
        {"type": "before", "first": "login", "then": {"tool": "pay", "args_match": {"to": "^acc"}}},
        {"type": "blocklist", "pattern": "admin"},
    ]
    good = ctx(("login", {}), ("pay", {"to": "acc-1"}))
    assert (await run_grader(metrics.SequenceValid(rules=rules), good)).passed
    bad = ctx(("pay", {"to": "acc-1"}), ("login", {}))
    verdict = await run_grader(metrics.SequenceValid(rules=rules), bad)
    assert verdict.evidence == "'login' must come before pay[to]"
    blocked = await run_grader(metrics.ToolBlocklist(blocked=["rm"]), ctx(("rm", {})))
    assert blocked.status == FAILED


async def test_judge_meta_and_split_votes() -> None:
    split = {"assay": {"judge": {"relevance": {"passed": True, "score": 0.67}}}}
    verdict = await run_grader(metrics.Relevance(), ctx(meta=split))
    assert verdict.status == UNCERTAIN
    sure = {"assay": {"judge": {"faithfulness": {"passed": False, "score": 0.0}}}}
    assert (await run_grader(metrics.Faithfulness(), ctx(meta=sure))).status == FAILED
    missing = await run_grader(metrics.Faithfulness(), ctx())
    assert missing.evidence == "judge result missing: no meta.assay.judge.faithfulness in the trace"


async def test_fixture_assertions_test_their_own_data() -> None:
    policy = {"schema": {"properties": {"amount": {"maximum": 10}}}}
    spec = ArgsValidFixture(tool="t", test_args={"amount": 50}, policy=policy, expect="fail")
    assert (await run_grader(spec, ctx())).status == PASSED
    wrong = ArgsValidFixture(tool="t", test_args={"amount": 50}, policy=policy)
    verdict = await run_grader(wrong, ctx())
    assert verdict.evidence.startswith("args_valid(t) [$.amount: 50 is greater than")
    seq = SequenceValidFixture(
        test_trace_raw=[{"tool": "a"}, {"tool": "b"}], policy={"regex": "a b"}
    )
    assert (await run_grader(seq, ctx())).passed
    blocked = ToolBlocklistFixture(
        test_tool_calls=["rm"], policy={"blocked": ["rm"]}, expect="fail"
    )
    assert (await run_grader(blocked, ctx())).passed


def row(status: str, kind: str | None = None, abstain: bool = False) -> dict[str, Any]:
    details: dict[str, Any] = {"metrics": {}}
    if kind:
        details["run_error_kind"] = kind
    if abstain:
        details["metrics"]["relevance"] = {"details": {"verdict": "Abstain"}}
    return {"test_id": "t", "status": status, "message": "m", "details": details}


@pytest.mark.parametrize(
    ("rows", "strict", "expected"),
    [
        ([row("pass")], False, (0, "")),
        ([row("fail"), row("error", "trace_not_found")], False, (2, "E_TRACE_NOT_FOUND")),
        ([row("fail"), row("error", "judge_unavailable")], False, (3, "E_JUDGE_UNAVAILABLE")),
        ([row("fail"), row("warn", abstain=True)], False, (1, "E_JUDGE_UNCERTAIN")),
        ([row("fail"), row("warn")], True, (1, "E_TEST_FAILED")),
        ([row("warn")], False, (0, "")),
        ([row("warn")], True, (1, "E_POLICY_VIOLATION")),
        ([row("allowed_on_error", "judge_unavailable")], False, (0, "")),
    ],
)
def test_decision_order(
    rows: list[dict[str, Any]], strict: bool, expected: tuple[int, str]
) -> None:
    outcome = codes.decide(rows, strict=strict)
    assert (outcome.exit_code, outcome.reason_code) == expected
