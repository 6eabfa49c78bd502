"""Graders in suite and case files (harness.grading.loading, through load_suite): validated at
load with file:line errors, paths resolved, assertions that can never fail refused (unless
allowed), thresholds, weights, workspaces, and Vally's nested `config:`."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.grading.calls import TraceToolArgsSchema, TraceToolCallCount
from harness.grading.commands import RunCommand
from harness.grading.output import JsonMatch
from harness.plan.load import load_suite
from tests.support.suites import GRADED_SUITE, graded_case, load_errors

pytestmark = pytest.mark.usefixtures("in_tmp")


def test_new_graders_load_with_paths_resolved() -> None:
    root = graded_case(
        """\
        assertions:
          - {type: json_match, schema_file: out.json}
          - {type: trace_tool_args_schema, tool_name: search, schema_file: args.yaml}
          - {type: trace_tool_call_count, tool: pay, max: 1, weight: 2}
        """,
        files={"out.json": '{"type": "object"}', "args.yaml": "required: [q]\n"},
    )
    [case] = load_suite(root).cases
    json_match, args_schema, count = case.assertions
    assert isinstance(json_match, JsonMatch) and json_match.schema == {"type": "object"}
    assert isinstance(args_schema, TraceToolArgsSchema) and args_schema.schema == {
        "required": ["q"]
    }
    assert isinstance(count, TraceToolCallCount) and count.weight == 2


def test_grader_mistakes_are_one_line_each_at_their_line() -> None:
    root = graded_case(
        """\
        assertions:
          - {type: trace_must_call_tool, tool: refund}
          - {type: trace_tool_args_match, tool: pay, tool_name: pay, args: {a: 1}}
          - {type: regex_match, pattern: "(unclosed"}
          - {type: run-command, command: make, sub_path: ../elsewhere, timeout: soon}
          - {type: json_match, schema_file: missing.json}
          - {type: trace_tool_call_count, tool: pay, min: 3, max: 1}
          - {type: must_contain, must_contain: [x], weight: -1}
          - {type: exact_match}
        """
    )
    assert load_errors(root) == [
        "s/cases/t1.yaml:4: assertions[0].tool: tool 'refund' is not in tool_registry, so this"
        " can never pass",
        "s/cases/t1.yaml:5: assertions[1].tool_name: give the tool as `tool` or `tool_name`,"
        " not both",
        "s/cases/t1.yaml:6: assertions[2].pattern: invalid regular expression: missing ),"
        " unterminated subpattern at position 0",
        "s/cases/t1.yaml:7: assertions[3].sub_path: '../elsewhere' leaves the workspace"
        " ('..' is not allowed)",
        "s/cases/t1.yaml:7: assertions[3].timeout: expected a duration such as 30s, 2m or 500ms,"
        " got 'soon'",
        "s/cases/t1.yaml:7: assertions[3]: run-command grades the attempt's workspace, but case"
        " 't1' has no `workspace:`; give the case or the suite one (e.g. `workspace: {files:"
        " [fixtures]}`)",
        "s/cases/t1.yaml:8: assertions[4].schema_file: schema file s/missing.json not found"
        " (relative to the config)",
        "s/cases/t1.yaml:9: assertions[5].min: min (3) is greater than max (1)",
        "s/cases/t1.yaml:10: assertions[6].weight: must be a number of 0 or more, got -1.0",
        "s/cases/t1.yaml:11: assertions[7]: give the expected output as `value` (or"
        " `exact_match`), exactly once",
    ]


def test_unknown_keys_inside_a_grader_name_the_valid_ones() -> None:
    root = graded_case("assertions: [{type: trace_tool_call_count, tool: pay, maximum: 2}]\n")
    assert load_errors(root) == [
        "s/cases/t1.yaml:3: assertions[0].maximum: unknown key; did you mean 'max'? valid keys:"
        " type, min, max, weight, name, tool, tool_name",
        "s/cases/t1.yaml:3: assertions[0]: give `min`, `max` or both",
    ]


INEFFECTIVE = """\
assertions:
  - {type: trace_must_call_tool, tool: search, min_calls: 0}
  - {type: trace_tool_sequence, sequence: [], allow_other_tools: true}
  - {type: must_contain, must_contain: [""]}
  - {type: trace_tool_call_count, min: 0}
  - {type: must_call, tools: []}
"""


def test_assertions_that_cannot_fail_are_refused() -> None:
    found = load_errors(graded_case(INEFFECTIVE))
    assert len(found) == 5
    assert found[0] == (
        "s/cases/t1.yaml:4: assertions[0]: min_calls: 0 holds for every trace: it can never"
        " fail, so a pass proves nothing; fix it, or pass --allow-ineffective-assertions to run"
        " it anyway"
    )
    assert all("--allow-ineffective-assertions" in line for line in found)


def test_allow_ineffective_assertions_runs_them() -> None:
    [case] = load_suite(graded_case(INEFFECTIVE), allow_ineffective=True).cases
    assert len(case.assertions) == 5


def test_assertions_that_can_never_pass_are_plain_errors() -> None:
    root = graded_case(
        """\
        assertions:
          - {type: must_not_contain, must_not_contain: ["", x]}
          - {type: regex_not_match, pattern: ""}
        """
    )
    assert load_errors(root, allow_ineffective=True) == [
        "s/cases/t1.yaml:4: assertions[0].must_not_contain: an empty string is in every output,"
        " so this never passes",
        "s/cases/t1.yaml:5: assertions[1].pattern: an empty pattern matches every output, so this"
        " never passes",
    ]


def test_thresholds_and_workspaces_merge_over_the_suite() -> None:
    suite = (
        GRADED_SUITE + "threshold: 0.5\nworkspace: {files: [fixtures], commands: [echo suite]}\n"
    )
    root = graded_case(
        """\
        threshold: 0.75
        workspace:
          files: [{src: extra.txt, dest: docs/extra.txt}]
          commands: [echo case]
          command_timeout: 2m
        """,
        suite=suite,
        files={"fixtures/a.txt": "a", "extra.txt": "e"},
    )
    [case] = load_suite(root).cases
    assert case.threshold == 0.75
    assert case.workspace is not None
    assert [(Path(f.src).name, f.dest) for f in case.workspace.files] == [  # type: ignore[union-attr]
        ("fixtures", "fixtures"),
        ("extra.txt", "docs/extra.txt"),
    ]
    assert case.workspace.commands == ["echo suite", "echo case"]
    assert case.workspace.command_timeout == "2m"


def test_threshold_and_workspace_mistakes() -> None:
    root = graded_case(
        "threshold: 70\nworkspace: {files: [{src: nope, dest: ../x}]}\n",
    )
    assert load_errors(root) == [
        "s/cases/t1.yaml:3: threshold: must be a fraction between 0 and 1, got 70; did you mean"
        " 0.7?",
        "s/cases/t1.yaml:4: workspace.files[0].src: 'nope' not found (relative to the config)",
        "s/cases/t1.yaml:4: workspace.files[0].dest: '../x' leaves the workspace ('..' is not"
        " allowed)",
    ]


def test_vally_nested_config_is_read_flat() -> None:
    root = graded_case(
        """\
        workspace: {files: []}
        assertions:
          - type: run-command
            name: unit tests
            weight: 2
            config:
              command: npm
              args: [test]
              timeout: 2m
        """
    )
    [case] = load_suite(root).cases
    [spec] = case.assertions
    assert isinstance(spec, RunCommand)
    assert (spec.command, spec.args, spec.timeout, spec.name, spec.weight) == (
        "npm",
        ["test"],
        "2m",
        "unit tests",
        2,
    )


def test_vally_nested_config_errors_keep_their_lines() -> None:
    text = "assertions:\n  - type: run-command\n    config:\n      command: make\n"
    root = graded_case("workspace: {files: []}\n" + text + "      sub_path: /etc\n")
    assert load_errors(root) == [
        "s/cases/t1.yaml:8: assertions[0].sub_path: '/etc' must be a relative path inside the"
        " workspace"
    ]
