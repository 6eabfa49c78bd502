"""Graders in suite and case files: validated at load with file:line errors, paths resolved,
assertions that can never fail refused (unless allowed), thresholds, weights, workspaces,
Vally's nested `config:`, and plugins from modules and entry points."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.errors import ConfigError, UsageError
from harness.grading import catalogue, registry
from harness.grading.calls import TraceToolArgsSchema, TraceToolCallCount
from harness.grading.commands import RunCommand
from harness.grading.output import JsonMatch
from harness.plan.load import load_suite
from tests.support.graders import registered_types_kept

SUITE = """\
suite_name: demo
agent_command: [python3, agent.py]
mode: replay
cases_path: cases
tool_registry: [search, pay]
"""


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def make(case: str, suite: str = SUITE, files: dict[str, str] | None = None) -> Path:
    root = Path("s")
    (root / "cases").mkdir(parents=True)
    (root / "suite.yaml").write_text(suite)
    (root / "cases" / "t1.yaml").write_text("id: t1\ninput: hi\n" + textwrap.dedent(case))
    for name, text in (files or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def errors(root: Path, *, allow_ineffective: bool = False) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_suite(root, allow_ineffective=allow_ineffective)
    return str(caught.value).splitlines()


def test_new_graders_load_with_paths_resolved() -> None:
    root = make(
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
    root = make(
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
    assert errors(root) == [
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
        "s/cases/t1.yaml:8: assertions[4].schema_file: schema file s/missing.json not found"
        " (relative to the config)",
        "s/cases/t1.yaml:9: assertions[5].min: min (3) is greater than max (1)",
        "s/cases/t1.yaml:10: assertions[6].weight: must be a number of 0 or more, got -1.0",
        "s/cases/t1.yaml:11: assertions[7]: give the expected output as `value` (or"
        " `exact_match`), exactly once",
    ]


def test_unknown_keys_inside_a_grader_name_the_valid_ones() -> None:
    root = make("assertions: [{type: trace_tool_call_count, tool: pay, maximum: 2}]\n")
    assert errors(root) == [
        "s/cases/t1.yaml:3: assertions[0].maximum: unknown key; valid keys: type, min, max,"
        " weight, name, tool, tool_name",
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
    found = errors(make(INEFFECTIVE))
    assert len(found) == 5
    assert found[0] == (
        "s/cases/t1.yaml:4: assertions[0]: min_calls: 0 holds for every trace: it can never"
        " fail, so a pass proves nothing; fix it, or pass --allow-ineffective-assertions to run"
        " it anyway"
    )
    assert all("--allow-ineffective-assertions" in line for line in found)


def test_allow_ineffective_assertions_runs_them() -> None:
    [case] = load_suite(make(INEFFECTIVE), allow_ineffective=True).cases
    assert len(case.assertions) == 5


def test_assertions_that_can_never_pass_are_plain_errors() -> None:
    root = make(
        """\
        assertions:
          - {type: must_not_contain, must_not_contain: ["", x]}
          - {type: regex_not_match, pattern: ""}
        """
    )
    assert errors(root, allow_ineffective=True) == [
        "s/cases/t1.yaml:4: assertions[0].must_not_contain: an empty string is in every output,"
        " so this never passes",
        "s/cases/t1.yaml:5: assertions[1].pattern: an empty pattern matches every output, so this"
        " never passes",
    ]


def test_thresholds_and_workspaces_merge_over_the_suite() -> None:
    suite = SUITE + "threshold: 0.5\nworkspace: {files: [fixtures], commands: [echo suite]}\n"
    root = make(
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
    root = make(
        "threshold: 70\nworkspace: {files: [{src: nope, dest: ../x}]}\n",
    )
    assert errors(root) == [
        "s/cases/t1.yaml:3: threshold: must be a fraction between 0 and 1, got 70; did you mean"
        " 0.7?",
        "s/cases/t1.yaml:4: workspace.files[0].src: 'nope' not found (relative to the config)",
        "s/cases/t1.yaml:4: workspace.files[0].dest: '../x' leaves the workspace ('..' is not"
        " allowed)",
    ]


def test_vally_nested_config_is_read_flat() -> None:
    root = make(
        """\
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
    root = make(text + "      sub_path: /etc\n")
    assert errors(root) == [
        "s/cases/t1.yaml:7: assertions[0].sub_path: '/etc' must be a relative path inside the"
        " workspace"
    ]


# Plugins -------------------------------------------------------------------------------------

PLUGIN = """\
from harness.config.schema import GraderSpec
from harness.grading.registry import GraderType
from harness.grading.verdict import verdict


class ShortAnswer(GraderSpec, frozen=True, tag="short_answer"):
    max_chars: int


def grade(spec, context):
    size = len(context.output_text())
    return verdict(spec, size <= spec.max_chars, f"{size} chars (max {spec.max_chars})")


GRADERS = [GraderType("short_answer", ShortAnswer, grade, "The answer is short.")]
"""


@pytest.fixture
def plugin_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    (tmp_path / "plugin_graders.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(tmp_path)
    with registered_types_kept():
        yield "plugin_graders"
    sys.modules.pop("plugin_graders", None)


def test_a_plugin_type_is_unknown_until_loaded(plugin_module: str) -> None:
    root = make("assertions: [{type: short_answer, max_chars: 10}]\n")
    [line] = errors(root)
    assert line.startswith('s/cases/t1.yaml:3: assertions[0].type: unknown type "short_answer";')
    assert "valid types: json_schema, required_fields," in line
    catalogue.load_plugin(plugin_module)
    [case] = load_suite(root).cases
    assert type(case.assertions[0]).__name__ == "ShortAnswer"
    assert "short_answer" in catalogue.type_names()


def test_a_plugin_that_cannot_load_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--grader-plugin no_such_plugin_mod: cannot import it"):
        catalogue.load_plugin("no_such_plugin_mod")


def test_a_type_taken_twice_is_refused() -> None:
    from harness.grading.output import MustContain, grade_must_contain

    clash = registry.GraderType("must_contain", JsonMatch, grade_must_contain, "x")
    with registered_types_kept():
        with pytest.raises(UsageError, match="tag='must_contain'"):
            registry.register(clash)
        registry.register(registry.GraderType("must_contain", MustContain, grade_must_contain, "x"))


def test_graders_from_the_entry_point_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ep_graders.py").write_text(PLUGIN.replace("short_answer", "ep_short"))
    dist = tmp_path / "ep_graders-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ep-graders\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[harness.graders]\nshort = ep_graders:GRADERS\n")
    with registered_types_kept():
        assert "ep_short" not in catalogue.type_names()
        monkeypatch.syspath_prepend(str(tmp_path))  # as if installed since the first lookup
        try:
            catalogue.load_entry_points()
            assert "ep_short" in catalogue.type_names()
            root = make("assertions: [{type: ep_short, max_chars: 3}]\n")
            [case] = load_suite(root).cases
            assert type(case.assertions[0]).__name__ == "ShortAnswer"
        finally:
            sys.modules.pop("ep_graders", None)
    assert "ep_short" not in catalogue.type_names()


LENIENT_PLUGIN = """\
import msgspec

from harness.config.schema import GraderSpec
from harness.grading.registry import GraderType
from harness.grading.verdict import verdict


class Limits(msgspec.Struct, frozen=True):  # accepts unknown keys: msgspec's default
    max_chars: int


class Bounded(GraderSpec, frozen=True, tag="bounded_answer"):
    limits: Limits


def grade(spec, context):
    return verdict(spec, True, "ok")


GRADERS = [GraderType("bounded_answer", Bounded, grade, "Bounded.")]
"""


def test_a_plugin_spec_that_accepts_unknown_keys_still_gets_them_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Such a spec turns the loader's one-call fast path off, so `limits.typo` is found."""
    (tmp_path / "lenient_graders.py").write_text(LENIENT_PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with registered_types_kept():
            catalogue.load_plugin("lenient_graders")
            assert not catalogue.specs_forbid_unknown_fields()
            root = make("assertions: [{type: bounded_answer, limits: {max_chars: 3, typo: 1}}]\n")
            [line] = errors(root)
            assert line.startswith("s/cases/t1.yaml:3: assertions[0].limits.typo: unknown key")
    finally:
        sys.modules.pop("lenient_graders", None)
    assert catalogue.specs_forbid_unknown_fields()
