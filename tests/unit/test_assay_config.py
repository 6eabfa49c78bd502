"""Assay's config parser (harness.assay.config): legacy `expected` forms, the V1 reference's
promises, and errors at their line."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from harness.assay.config import AssayConfigError, load_assay_config
from harness.grading.assay import metrics
from harness.grading.calls import TraceMustCallTool, TraceToolSequence
from harness.grading.output import JsonMatch, MustContain

pytestmark = pytest.mark.usefixtures("in_tmp")


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


def test_tool_and_tool_name_and_a_sequence_without_a_default() -> None:
    loaded = config(
        """\
        tests:
          - id: a
            input: p
            assertions:
              - {type: trace_must_call_tool, tool_name: search}
              - {type: trace_tool_sequence, sequence: [a, b], allow_other_tools: true}
        """
    )
    must, sequence = loaded.tests[0].assertions
    assert isinstance(must, TraceMustCallTool) and must.target == "search"
    assert isinstance(sequence, TraceToolSequence) and sequence.allow_other_tools is True
    # Assay's parser has no default for allow_other_tools: a sequence without it is refused.
    assert errors(
        """\
        tests:
          - id: a
            input: p
            assertions:
              - {type: trace_tool_sequence, sequence: [a, b]}
        """
    ) == [
        "eval.yaml:7: tests[0].assertions[0]: trace_tool_sequence needs allow_other_tools (Assay"
        " gives it no default): false for exactly this sequence, true for it in order with other"
        " calls between"
    ]


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
