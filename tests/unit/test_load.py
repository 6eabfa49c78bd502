"""The suite loader (harness.plan.load): resolved values and merge rules; every error with its
file:line:field; damaged suites load or raise a one-line ConfigError, never another exception;
record-mode tool settings; a sweep's models, runs and retry checked at load."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.config.schema import (
    Budgets,
    CaseFile,
    CommandToolSpec,
    HttpToolSpec,
    JsonSchemaAssertion,
    McpToolSpec,
    MustCallAssertion,
    Normalization,
    PythonToolSpec,
    RecordMode,
    Regression,
    ReplaceText,
    Suite,
    SuiteFile,
)
from harness.errors import ConfigError, ConfigErrors
from harness.grading.catalogue import type_names
from harness.plan.load import load_suite
from harness.protocol.codec import DEFAULT_MAX_LINE_BYTES
from tests.support.suites import load_errors, suite_from

pytestmark = pytest.mark.usefixtures("in_tmp")

SUITE = """\
suite_name: demo
agent_command: [python3, agent.py]
mode: replay
cases_path: cases
tool_registry: [search_docs, create_ticket]
"""

CASE = """\
id: t1
input: {ticket: reset my password}
"""


def make_suite(
    suite: str = SUITE,
    cases: dict[str, str | bytes] | None = None,
    files: dict[str, str | bytes] | None = None,
    root: str = "s",
) -> Path:
    """A suite folder under the cwd: suite.yaml, case files under cases/, any other files."""
    contents: dict[str, str | bytes] = {"suite.yaml": suite}
    contents.update({f"cases/{name}": text for name, text in (cases or {"t1.yaml": CASE}).items()})
    contents.update(files or {})
    (Path(root) / "cases").mkdir(parents=True)
    for name, content in contents.items():
        path = Path(root, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return Path(root)


# Resolution ---------------------------------------------------------------------------------


def test_minimal_suite_resolves_with_defaults() -> None:
    root = make_suite()
    suite = load_suite(root)
    assert suite.name == "demo"
    assert suite.dir == root.absolute()
    assert suite.file == (root / "suite.yaml").absolute()
    assert suite.mode is RecordMode.replay
    assert suite.tool_registry == frozenset({"search_docs", "create_ticket"})
    assert (suite.max_line_bytes, suite.kill_grace_ms) == (DEFAULT_MAX_LINE_BYTES, 2000)
    assert (suite.baseline_path, suite.output_dir, suite.agent_cwd) == (None, None, None)
    assert not suite.strict
    [case] = suite.cases
    assert (case.id, case.input) == ("t1", {"ticket": "reset my password"})
    assert (case.file, case.line) == ((root / "cases/t1.yaml").absolute(), 1)
    assert case.cassette_path is None
    assert case.budgets == Budgets()
    assert case.normalization is None
    assert (case.assertions, case.schemas, case.tags) == ((), {}, {})
    digest = hashlib.sha256(
        (root / "suite.yaml").read_bytes() + (root / "cases/t1.yaml").read_bytes()
    )
    assert suite.config_hash == digest.hexdigest()


def test_path_may_be_the_suite_file_and_suite_yml_is_found() -> None:
    root = make_suite()
    assert load_suite(root / "suite.yaml").name == "demo"
    (root / "suite.yaml").rename(root / "suite.yml")
    assert load_suite(str(root)).file.name == "suite.yml"


def test_agent_command_elements_naming_existing_paths_become_absolute() -> None:
    suite = SUITE.replace("[python3, agent.py]", r"[python3, 'agent\run.py', -m, /bin/sh, gone.py]")
    root = make_suite(suite, files={"agent/run.py": ""})
    command = load_suite(root).agent_command
    assert command == (
        "python3",
        str((root / "agent/run.py").absolute()),
        "-m",
        "/bin/sh",
        "gone.py",
    )


@pytest.mark.parametrize(
    "command", ["[{python}, agent.py, {model}]", '["{python}", agent.py, "{model}"]']
)
def test_placeholders_in_agent_command_quoted_or_not(command: str) -> None:
    # Unquoted in a flow list, YAML reads `{python}` as the mapping {python: null}.
    suite = SUITE.replace("[python3, agent.py]", command)
    root = make_suite(suite, files={"agent.py": ""})
    command_read = load_suite(root).agent_command
    assert command_read == ("{python}", str((root / "agent.py").absolute()), "{model}")


def test_other_braces_in_agent_command_say_to_quote_them() -> None:
    text = SUITE.replace("[python3, agent.py]", "[{pyton}, agent.py, {python: 3}]")
    assert load_errors(make_suite(text)) == [
        "s/suite.yaml:2: agent_command[0]: expected str, got mapping; unquoted, `{...}` in a"
        ' list is a YAML mapping: quote it ("{model}")'
    ]


def test_case_files_are_yaml_and_yml_sorted_by_name_not_recursive() -> None:
    cases: dict[str, str | bytes] = {
        n: f"id: {n}\ninput: 1\n" for n in ("b.yml", "a.yaml", "c.YAML")
    }
    root = make_suite(cases=cases, files={"cases/sub/d.yaml": "id: d\ninput: 1\n"})
    (root / "cases/.#a.yaml").symlink_to("nowhere")  # an editor's lock file
    (root / "cases/notes.txt").write_text("not a case")
    assert [case.id for case in load_suite(root).cases] == ["a.yaml", "b.yml", "c.YAML"]


def test_cassette_and_schema_paths_resolve_against_the_suite_folder() -> None:
    case = (
        CASE
        + "cassette: cassettes/t1.jsonl\nassertions: [{type: json_schema, schema_path: out.json}]\n"
    )
    root = make_suite(cases={"t1.yaml": case}, files={"out.json": '{"type": "object"}'})
    [resolved] = load_suite(root).cases
    schema_path = str((root / "out.json").absolute())
    assert resolved.cassette_path == (root / "cassettes/t1.jsonl").absolute()
    assert resolved.assertions == (JsonSchemaAssertion(schema_path=schema_path),)
    assert resolved.schemas == {schema_path: {"type": "object"}}


def test_suite_assertions_come_first_and_schemas_load_once() -> None:
    suite = SUITE + "assertions: [{type: json_schema, schema_path: schema.yaml}]\n"
    case = "input: 1\nassertions: [{type: must_call, tools: [search_docs]}]\n"
    cases: dict[str, str | bytes] = {"a.yaml": "id: a\n" + case, "b.yaml": "id: b\ninput: 2\n"}
    root = make_suite(suite, cases, {"schema.yaml": "type: object\nrequired: [category]\n"})
    first, second = load_suite(root).cases
    key = str((root / "schema.yaml").absolute())
    assert first.assertions == (
        JsonSchemaAssertion(schema_path=key),
        MustCallAssertion(tools=["search_docs"]),
    )
    assert second.assertions == (JsonSchemaAssertion(schema_path=key),)
    assert first.schemas[key] == {"type": "object", "required": ["category"]}
    assert first.schemas[key] is second.schemas[key]


def test_case_budgets_merge_over_the_suites_field_by_field() -> None:
    suite = SUITE + "budgets: {max_wall_ms: 1000, max_tool_calls: 5, max_cost_usd: 1}\n"
    case = CASE + "budgets: {max_tool_calls: 2, max_idle_ms: 50}\n"
    [resolved] = load_suite(make_suite(suite, {"t1.yaml": case})).cases
    assert resolved.budgets == Budgets(
        max_wall_ms=1000, max_tool_calls=2, max_cost_usd=1.0, max_idle_ms=50
    )


def test_normalization_lists_concatenate_and_replace_paths_merge() -> None:
    suite = SUITE + textwrap.dedent("""\
        normalization:
          strip_keys: [id]
          replace_paths: {a: 1, b: 2}
          replace_text: [{pattern: '\\d+', flags: im}]
        """)
    case = CASE + "normalization: {strip_keys: [ts], replace_paths: {b: 3}}\n"
    [resolved] = load_suite(make_suite(suite, {"t1.yaml": case})).cases
    assert resolved.normalization == Normalization(
        strip_keys=["id", "ts"],
        replace_paths={"a": 1, "b": 3},
        replace_text=[ReplaceText(pattern="\\d+", flags="im")],
    )


def test_normalization_is_none_when_absent_or_empty() -> None:
    case = CASE + "normalization: {strip_keys: []}\n"
    [resolved] = load_suite(make_suite(SUITE + "normalization: {}\n", {"t1.yaml": case})).cases
    assert resolved.normalization is None


def test_regression_accepts_runledgers_older_names() -> None:
    suite = SUITE + "regression: {min_success_rate: 0.9, max_p95_wall_ms_increase_pct: 20}\n"
    assert load_suite(make_suite(suite)).regression == Regression(
        min_pass_rate=0.9, max_p95_wall_ms_delta_pct=20.0
    )


def test_mode_override_wins() -> None:
    assert load_suite(make_suite(), mode="record").mode is RecordMode.record
    auto = make_suite(SUITE.replace("replay", "auto"), root="auto")
    assert load_suite(auto).mode is RecordMode.auto


def test_harness_keys_resolve() -> None:
    suite = SUITE + textwrap.dedent("""\
        baseline_path: baselines/demo.json
        output_dir: ../out
        agent_cwd: work
        agent_env: {LANG: C}
        max_line_bytes: 1024
        kill_grace_ms: 0
        strict: true
        description: the demo
        """)
    root = make_suite(suite, files={"work/keep": ""})
    loaded = load_suite(root)
    assert loaded.baseline_path == (root / "baselines/demo.json").absolute()
    assert loaded.output_dir == Path("out").absolute()
    assert loaded.agent_cwd == (root / "work").absolute()
    assert (loaded.agent_env, loaded.max_line_bytes, loaded.kill_grace_ms) == (
        {"LANG": "C"},
        1024,
        0,
    )
    assert (loaded.strict, loaded.description) == (True, "the demo")


def test_case_line_tags_and_any_input() -> None:
    case = "# a comment\n\nid: t1\ninput: [1, two, null]\ntags: {team: support}\n"
    [resolved] = load_suite(make_suite(cases={"t1.yaml": case})).cases
    assert (resolved.line, resolved.input, resolved.tags) == (
        3,
        [1, "two", None],
        {"team": "support"},
    )


def test_yaml_anchors_merge_keys_and_dates() -> None:
    case = textwrap.dedent("""\
        id: t1
        input:
          base: &base {a: 1, b: 2}
          merged: {<<: *base, b: 3}
          when: 2024-01-02
        """)
    [resolved] = load_suite(make_suite(cases={"t1.yaml": case})).cases
    assert resolved.input == {
        "base": {"a": 1, "b": 2},
        "merged": {"a": 1, "b": 3},
        "when": "2024-01-02",  # dates stay strings: input must be JSON
    }


def test_utf16_with_bom_and_utf8_bom_are_read() -> None:
    utf16 = "id: a\ninput: é\n".encode("utf-16")  # Python writes the BOM
    cases: dict[str, str | bytes] = {"a.yaml": utf16, "b.yaml": b"\xef\xbb\xbfid: b\ninput: 1\n"}
    assert [case.input for case in load_suite(make_suite(cases=cases)).cases] == ["é", 1]


# Errors: each one line, file:line: field: what; what to do --------------------------------


def test_wrong_type_points_at_the_line_and_field() -> None:
    case = CASE + "budgets:\n  max_wall_ms: 10\n  max_tool_calls: ten\n"
    assert load_errors(make_suite(cases={"t1.yaml": case})) == [
        's/cases/t1.yaml:5: budgets.max_tool_calls: expected int, got str "ten"'
    ]


def test_error_attributes() -> None:
    make_suite(SUITE.replace("mode: replay", "mode: [replay]"))
    with pytest.raises(ConfigError) as caught:
        load_suite("s")
    error = caught.value
    assert (error.path, error.line, error.field) == ("s/suite.yaml", 3, "mode")
    assert error.message == "expected str, got list"


def test_unknown_keys_are_all_reported_with_the_valid_keys() -> None:
    suite = SUITE + "budgets: {max_tool_call: 1}\nverbose: true\n"
    case = CASE + "budget: {}\n"
    assert load_errors(make_suite(suite, {"t1.yaml": case})) == [
        f"s/suite.yaml:6: budgets.max_tool_call: unknown key; did you mean 'max_tool_calls'? "
        f"valid keys: {keys(Budgets)}",
        f"s/suite.yaml:7: verbose: unknown key; valid keys: {keys(SuiteFile)}",
        f"s/cases/t1.yaml:3: budget: unknown key; did you mean 'budgets'? "
        f"valid keys: {keys(CaseFile)}",
    ]


def keys(struct: type[msgspec.Struct]) -> str:
    return ", ".join(struct.__struct_fields__)


def test_a_bad_dict_value_is_named_by_its_key() -> None:
    suite = SUITE + "agent_env:\n  LANG: C\n  DEBUG: 1\n"
    case = CASE + "tags: {team: support, odd.key: [x]}\n"
    assert load_errors(make_suite(suite, {"t1.yaml": case})) == [
        "s/suite.yaml:8: agent_env.DEBUG: expected str, got int 1",
        "s/cases/t1.yaml:3: tags.odd.key: expected str, got list",
    ]


def test_missing_required_key() -> None:
    assert load_errors(make_suite(cases={"t1.yaml": "id: t1\n"})) == [
        "s/cases/t1.yaml:1: input: missing required key"
    ]


# RunLedger's five come first; every other registered grader type follows.
VALID_TYPES = "valid types: " + ", ".join(type_names())


assert VALID_TYPES.startswith(
    "valid types: json_schema, required_fields, must_call, must_not_call, call_order, "
)


def test_unknown_or_missing_assertion_type_lists_the_valid_types() -> None:
    unknown = (
        CASE + "assertions:\n  - type: must_call\n    tools: [search_docs]\n  - type: mustcall\n"
    )
    missing = "id: t2\ninput: 1\nassertions:\n  - tools: [search_docs]\n"
    assert load_errors(make_suite(cases={"t1.yaml": unknown, "t2.yaml": missing})) == [
        f's/cases/t1.yaml:6: assertions[1].type: unknown type "mustcall"; did you mean '
        f"'must_call'? {VALID_TYPES}",
        f"s/cases/t2.yaml:4: assertions[0].type: missing required key; {VALID_TYPES}",
    ]


def test_unknown_key_inside_an_assertion() -> None:
    case = CASE + "assertions: [{type: must_call, tool: [x]}]\n"
    assert load_errors(make_suite(cases={"t1.yaml": case})) == [
        "s/cases/t1.yaml:3: assertions[0].tool: unknown key; did you mean 'tools'? valid keys:"
        " type, tools, weight, name",
        "s/cases/t1.yaml:3: assertions[0].tools: missing required key",
    ]


def test_duplicate_yaml_keys() -> None:
    case = "id: t1\ninput: 1\nid: t2\n"
    assert load_errors(make_suite(cases={"t1.yaml": case})) == [
        "s/cases/t1.yaml:3: id: duplicate key; first defined on line 1, keep one"
    ]


def test_duplicate_case_ids_name_both_files() -> None:
    cases: dict[str, str | bytes] = {"a.yaml": CASE, "b.yaml": "# copy\n" + CASE}
    assert load_errors(make_suite(cases=cases)) == [
        "s/cases/b.yaml:2: id: duplicate case id 't1', also used in s/cases/a.yaml:1;"
        " ids must be unique"
    ]


def test_negative_budgets_and_bad_numbers() -> None:
    suite = SUITE + "budgets: {max_tool_calls: -1, max_cost_usd: .nan}\nmax_line_bytes: 0\n"
    suite += "regression: {min_pass_rate: 90}\n"
    assert load_errors(make_suite(suite)) == [
        "s/suite.yaml:6: budgets.max_tool_calls: must be 0 or more, got -1",
        "s/suite.yaml:6: budgets.max_cost_usd: must be 0 or more, got nan",
        "s/suite.yaml:7: max_line_bytes: must be greater than 0",
        "s/suite.yaml:8: regression.min_pass_rate: must be a fraction between 0 and 1, got 90;"
        " did you mean 0.9?",
    ]


def test_bad_regular_expressions_and_flags() -> None:
    case = CASE + "normalization:\n  replace_text:\n    - {pattern: 'a(', flags: ix}\n"
    assert load_errors(make_suite(cases={"t1.yaml": case})) == [
        "s/cases/t1.yaml:5: normalization.replace_text[0].flags: unknown flag 'x';"
        " use letters from 'ims'",
        "s/cases/t1.yaml:5: normalization.replace_text[0].pattern: invalid regular expression:"
        " missing ), unterminated subpattern at position 1; escape special characters with \\",
    ]


def test_bad_mode_in_the_suite_and_on_the_command_line() -> None:
    root = make_suite(SUITE.replace("mode: replay", "mode: replya"))
    valid = "valid modes: replay, record, auto, live"
    assert load_errors(root, mode="fast") == [
        f"s/suite.yaml:3: mode: unknown mode 'replya'; did you mean 'replay'? {valid}",
        f"mode: unknown mode 'fast'; {valid} (from --mode)",
    ]
    with pytest.raises(ConfigError) as caught:
        load_suite(make_suite(root="ok"), mode="fast")
    assert (caught.value.path, caught.value.field) == (None, "mode")


def test_regression_typos_and_alias_clashes_are_errors() -> None:
    suite = SUITE + "regression:\n  min_success_rate: 0.9\n  min_pass_rate: 0.8\n  max_p95: 3\n"
    assert load_errors(make_suite(suite)) == [
        "s/suite.yaml:7: regression.min_success_rate: old name of `min_pass_rate`, which is also"
        " given; keep only `min_pass_rate`",
        f"s/suite.yaml:9: regression.max_p95: unknown key; valid keys: {keys(Regression)}",
    ]


def test_agent_command_must_be_a_non_empty_list() -> None:
    text = SUITE.replace("[python3, agent.py]", "python3 agent.py")
    assert load_errors(make_suite(text)) == [
        's/suite.yaml:2: agent_command: expected list, got str "python3 agent.py";'
        " write the command as a list, e.g. [python3, agent.py]"
    ]
    empty = make_suite(SUITE.replace("[python3, agent.py]", "[]"), root="empty")
    assert load_errors(empty) == ["empty/suite.yaml:2: agent_command: must name a program to run"]


def test_suite_name_must_be_a_plain_name() -> None:
    root = make_suite(SUITE.replace("suite_name: demo", "suite_name: ../up"))
    assert load_errors(root) == [
        "s/suite.yaml:1: suite_name: must be a plain name, without slashes"
        " (it names the output folder)"
    ]


def test_case_folder_problems() -> None:
    root = make_suite(cases={"notes.txt": "x"})
    assert load_errors(root) == [
        "s/suite.yaml:4: cases_path: no case files (*.yaml, *.yml) in s/cases;"
        " add one file per case"
    ]
    missing = make_suite(SUITE.replace("cases_path: cases", "cases_path: gone"), root="m")
    assert load_errors(missing) == [
        "m/suite.yaml:4: cases_path: folder m/gone not found; create it or fix cases_path"
    ]
    a_file = make_suite(SUITE.replace("cases_path: cases", "cases_path: suite.yaml"), root="f")
    assert load_errors(a_file) == [
        "f/suite.yaml:4: cases_path: f/suite.yaml is not a folder;"
        " point cases_path at the case files' folder"
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "1: the file is empty; expected a mapping with the keys id, input"),
        (b"# only a comment\n", "1: the file is empty; expected a mapping with the keys id, input"),
        (b"- id: t1\n", "1: expected a mapping with the keys id, input, got list"),
        (b"just text", "1: expected a mapping with the keys id, input, got str"),
        (b"id: t1\ninput: caf\xe9\n", "2: not valid UTF-8 (byte 17); save the file as UTF-8"),
        (
            "id: t1\ndescription: éé\ninput: a\x01b\n".encode(),
            "3: YAML cannot hold the character U+0001: control characters are not allowed;"
            " remove it",
        ),
        (
            b"id: t1\ninput: !!binary aGk=\n",
            "2: input: YAML tag !!binary is not supported; write a plain value",
        ),
        (b"id: t1\ninput: {1: one}\n", "2: input: keys must be strings, got '1'; quote the key"),
        (b"- " * 300 + b"x\n", "1: nested more than 200 levels deep"),
        (
            b"id: t1\ninput: &a [*a]\n",
            "2: input[0]: an alias refers to a collection that contains it",
        ),
    ],
)
def test_unusable_case_files(content: bytes, message: str) -> None:
    assert load_errors(make_suite(cases={"t1.yaml": content})) == [f"s/cases/t1.yaml:{message}"]


@pytest.mark.parametrize(
    ("content", "line"),
    [(b"id: t1\ninput: [1, 2\n", 3), (b"id: t1\ninput: 'open\n", 3), (b"id: t1\n---\nid: t2\n", 2)],
)
def test_yaml_syntax_errors(content: bytes, line: int) -> None:
    # What is wrong is the YAML parser's own wording, which changes between PyYAML releases
    # and between libyaml and the pure-Python parser: only our frame of it is asserted.
    [error] = load_errors(make_suite(cases={"t1.yaml": content}))
    assert error.startswith(f"s/cases/t1.yaml:{line}: YAML syntax error: ")
    assert len(error) > len(f"s/cases/t1.yaml:{line}: YAML syntax error: ")
    assert "\n" not in error


def test_binary_garbage_is_a_config_error() -> None:
    garbage = bytes(range(256)) * 4
    assert load_errors(make_suite(cases={"t1.yaml": garbage})) == [
        "s/cases/t1.yaml:2: not valid UTF-8 (byte 128); save the file as UTF-8"
    ]


def test_deep_nesting_and_alias_bombs_are_refused_without_crashing() -> None:
    deep = b"id: t1\ninput: " + b"[" * 50_000 + b"]" * 50_000 + b"\n"
    bomb = ["id: t1", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    bomb += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    bomb.append("input: *a7")
    cases: dict[str, str | bytes] = {"deep.yaml": deep, "bomb.yaml": "\n".join(bomb)}
    assert load_errors(make_suite(cases=cases)) == [
        "s/cases/bomb.yaml:2: a4[7][8][8][8][8]: more than 100000 values once aliases expand",
        "s/cases/deep.yaml:2: nested more than 200 levels deep",
    ]


def test_files_that_cannot_be_read() -> None:
    root = make_suite(cases={"ok.yaml": CASE})
    (root / "cases/dir.yaml").mkdir()
    (root / "cases/loop.yaml").symlink_to("loop.yaml")
    (root / "cases/dangling.yaml").symlink_to("nowhere.yaml")
    os.mkfifo(root / "cases/pipe.yaml")
    assert load_errors(root) == [
        "s/cases/dangling.yaml: file not found",
        "s/cases/dir.yaml: is a folder, expected a file",
        "s/cases/loop.yaml: cannot read: Too many levels of symbolic links",
        "s/cases/pipe.yaml: is a named pipe (FIFO), not a regular file",
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file() -> None:
    root = make_suite()
    (root / "cases/t1.yaml").chmod(0)
    assert load_errors(root) == ["s/cases/t1.yaml: permission denied; make the file readable"]


def test_suite_path_problems(tmp_path: Path) -> None:
    assert load_errors("nowhere") == ["nowhere: no such suite folder or file"]
    Path("empty").mkdir()
    assert load_errors("empty") == [
        "empty: no suite.yaml in this folder; pass a suite folder or its file"
    ]
    root = make_suite()
    (root / "suite.yml").write_text(SUITE)
    assert load_errors(root) == ["s: both suite.yaml and suite.yml exist; keep one"]
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    assert load_errors(outside) == [f"{outside}: no such suite folder or file"]


def test_schema_problems_are_reported_once_per_file() -> None:
    bad = "assertions: [{type: json_schema, schema_path: bad.json}]\n"
    invalid = "assertions: [{type: json_schema, schema_path: invalid.yaml}]\n"
    gone = "assertions: [{type: json_schema, schema_path: gone.json}]\n"
    cases: dict[str, str | bytes] = {
        "a.yaml": "id: a\ninput: 1\n" + bad,
        "b.yaml": "id: b\ninput: 1\n" + bad,
        "c.yaml": "id: c\ninput: 1\n" + invalid,
        "d.yaml": "id: d\ninput: 1\n" + gone,
    }
    files: dict[str, str | bytes] = {
        "bad.json": '{\n  "type": "object",\n}',
        "invalid.yaml": "type: 5\n",
    }
    assert load_errors(make_suite(cases=cases, files=files)) == [
        "s/cases/d.yaml:3: assertions[0].schema_path: schema file s/gone.json not found"
        " (relative to the suite)",
        "s/invalid.yaml: not a valid JSON Schema: 5 is not valid under any of the schemas"
        " listed in the 'anyOf' keyword",
        "s/bad.json:3: invalid JSON: JSON is malformed: trailing comma in object (byte 22)",
    ]


def test_must_call_tools_must_be_registered() -> None:
    case = CASE + "assertions:\n  - {type: call_order, order: [search_docs, delete_all]}\n"
    assert load_errors(make_suite(cases={"t1.yaml": case})) == [
        "s/cases/t1.yaml:4: assertions[0].order[1]: tool 'delete_all' is not in tool_registry,"
        " so this can never pass"
    ]


def test_agent_cwd_must_exist() -> None:
    assert load_errors(make_suite(SUITE + "agent_cwd: work\n")) == [
        "s/suite.yaml:6: agent_cwd: folder s/work not found (relative to the suite folder)"
    ]


def test_problems_across_files_come_together_in_file_order() -> None:
    suite = SUITE + "budgets: {max_tool_calls: -1}\n"
    cases: dict[str, str | bytes] = {
        "a.yaml": "id: a\ninput: 1\nbudgets: {max_wall_ms: x}\n",
        "b.yaml": "id: [b]\ninput: 1\n",
        "c.yaml": "id: a\ninput: 1\n",
    }
    with pytest.raises(ConfigErrors) as caught:
        load_suite(make_suite(suite, cases))
    assert str(caught.value).splitlines() == [
        "s/suite.yaml:6: budgets.max_tool_calls: must be 0 or more, got -1",
        's/cases/a.yaml:3: budgets.max_wall_ms: expected int, got str "x"',
        "s/cases/b.yaml:1: id: expected str, got list",
        "s/cases/c.yaml:1: id: duplicate case id 'a', also used in s/cases/a.yaml:1;"
        " ids must be unique",
    ]
    assert len(caught.value.errors) == 4


# Damaged suites: a Suite or a ConfigError, never another exception --------------------------


FILES = {
    "suite.yaml": """\
suite_name: demo
agent_command: [python3, agent.py]
mode: replay
cases_path: cases
tool_registry: [search_docs]
assertions: [{type: json_schema, schema_path: schema.json}]
budgets: {max_wall_ms: 1000, max_tool_calls: 3}
regression: {min_success_rate: 0.9}
normalization:
  strip_keys: [id]
  replace_text: [{pattern: '\\d+', replacement: N, flags: i}]
""",
    "cases/t1.yaml": """\
id: t1
description: first
input: {ticket: reset my password, user: {id: 7}}
cassette: cassettes/t1.jsonl
budgets: {max_tool_calls: 2}
assertions:
  - {type: must_call, tools: [search_docs]}
  - {type: required_fields, fields: [category]}
tags: {team: support}
""",
    "cases/t2.yml": "id: t2\ninput: [1, 2.5, null, true]\n",
    "schema.json": '{"type": "object", "properties": {"category": {"type": "string"}}}',
    "agent.py": "",
}

TARGETS = ["suite.yaml", "cases/t1.yaml", "cases/t2.yml", "schema.json"]

Mutation = Callable[[Path], None]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)


def key_paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside mappings and lists."""
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in items:
        yield (*prefix, key)
        yield from key_paths(item, (*prefix, key))


def edit_document(edit: Callable[[Any, Any], None]) -> Callable[[bytes, st.DrawFn], bytes]:
    """A mutation of a parsed document: `edit(parent, key)` changes the value at a random path."""

    def mutate(content: bytes, draw: st.DrawFn) -> bytes:
        document = yaml.safe_load(content)
        paths = list(key_paths(document))
        if not paths:
            return content
        *parents, key = draw(st.sampled_from(paths))
        parent = document
        for step in parents:
            parent = parent[step]
        edit(parent, key)
        return yaml.safe_dump(document).encode()

    return mutate


@st.composite
def content_mutation(draw: st.DrawFn, content: bytes) -> bytes:
    kind = draw(
        st.sampled_from(["bytes", "truncate", "insert", "swap", "delete", "encode", "empty"])
    )
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "truncate":
        return content[: draw(st.integers(0, len(content)))]
    if kind == "insert":
        at = draw(st.integers(0, len(content)))
        junk = draw(st.binary(max_size=20) | st.text(max_size=20).map(str.encode))
        return content[:at] + junk + content[at:]
    if kind == "swap":
        new = draw(json_values)
        return edit_document(lambda parent, key: parent.__setitem__(key, new))(content, draw)
    if kind == "delete":
        return edit_document(lambda parent, key: parent.__delitem__(key))(content, draw)
    if kind == "encode":
        encoding = draw(st.sampled_from(["utf-16-le", "utf-16-be", "utf-32", "latin-1", "cp1252"]))
        return content.decode().replace("demo", "démo").replace("t1\n", "t1é\n").encode(encoding)
    return b""


@st.composite
def mutations(draw: st.DrawFn) -> Mutation:
    target = draw(st.sampled_from(TARGETS))
    kind = draw(st.sampled_from(["content", "content", "content", "folder", "loop", "remove"]))
    content = draw(content_mutation(FILES[target].encode())) if kind == "content" else b""

    def apply(root: Path) -> None:
        path = root / target
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        path.unlink(missing_ok=True)
        if kind == "content":
            path.write_bytes(content)
        elif kind == "folder":
            path.mkdir()
        elif kind == "loop":
            path.symlink_to(path.name)

    return apply


def write_fuzz_suite(root: Path) -> None:
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def check_error(error: ConfigError) -> None:
    errors = error.errors if isinstance(error, ConfigErrors) else [error]
    assert str(error).splitlines() == [one.render() for one in errors]
    for one in errors:
        rendered = one.render()
        assert rendered.splitlines() == [rendered]
        if one.path is None:
            assert one.field == "mode"
        else:
            assert rendered.startswith(f"{one.path}: ") or rendered.startswith(
                f"{one.path}:{one.line}: "
            )
            assert one.path.startswith("s")


# The cwd fixture the other tests use changes nothing here: each example loads in its own folder.
@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(mutations(), min_size=1, max_size=3),
    st.none() | st.sampled_from(["replay", "record", "Replay", ""]),
)
def test_damaged_suites_load_or_raise_config_error(
    damage: list[Mutation], mode: str | None
) -> None:
    cwd = os.getcwd()
    folder = tempfile.mkdtemp()
    try:
        os.chdir(folder)
        root = Path("s")
        write_fuzz_suite(root)
        for mutate in damage:
            mutate(root)
        try:
            suite = load_suite(root, mode=mode)
        except ConfigError as exc:
            check_error(exc)
        else:
            assert isinstance(suite, Suite)
            for case in suite.cases:
                msgspec.json.encode(case.input)  # whatever loads can be sent to an agent
    finally:
        os.chdir(cwd)
        shutil.rmtree(folder)


# Record-mode settings: tools, mcp_servers, redact, match ------------------------------------


HEAD = """suite_name: s
agent_command: [python3, agent.py]
mode: replay
cases_path: cases
tool_registry: [weather, search, clock]
"""


def suite_at(tmp_path: Path, extra: str) -> Path:
    (tmp_path / "cases").mkdir(exist_ok=True)
    (tmp_path / "cases" / "c.yaml").write_text("id: c\ninput: {}\n", encoding="utf-8")
    (tmp_path / "suite.yaml").write_text(HEAD + extra, encoding="utf-8")
    return tmp_path


def tool_errors(tmp_path: Path, extra: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_suite(suite_at(tmp_path, extra))
    error = caught.value
    lines = [e.render() for e in error.errors] if isinstance(error, ConfigErrors) else [str(error)]
    return [line.replace(str(tmp_path) + os.sep, "") for line in lines]


def test_tools_mcp_servers_redact_and_match_load(tmp_path: Path) -> None:
    suite = load_suite(
        suite_at(
            tmp_path,
            """tools:
  weather: {backend: python, function: "tools:weather", timeout_ms: 500}
  search: {backend: http, url: "http://127.0.0.1:9/s", headers_env: {X-Key: "${K}"}}
  clock: {backend: mcp, server: time, name: get_current_time}
mcp_servers:
  time: {command: [mcp-server-time]}
redact: {env: [K], keys: [session], patterns: ["id-(\\\\d+)"]}
match: {ignore_args: ["$.request_id", "search:$.page"]}
""",
        )
    )
    assert isinstance(suite.tools["weather"], PythonToolSpec)
    assert isinstance(suite.tools["search"], HttpToolSpec)
    assert isinstance(suite.tools["clock"], McpToolSpec) and suite.tools["clock"].server == "time"
    assert suite.redact is not None and suite.redact.env == ["K"]
    assert suite.match is not None and suite.match.ignore_args[1] == "search:$.page"


def test_tool_and_mcp_server_commands_take_python_unquoted(tmp_path: Path) -> None:
    suite = load_suite(
        suite_at(
            tmp_path,
            """tools:
  weather: {backend: command, command: [{python}, shout.py]}
  clock: {backend: mcp, server: time}
mcp_servers:
  time: {command: [{python}, -m, mcp_server_time]}
""",
        )
    )
    shout = suite.tools["weather"]
    assert isinstance(shout, CommandToolSpec) and shout.command == ["{python}", "shout.py"]
    assert suite.mcp_servers["time"].command == ["{python}", "-m", "mcp_server_time"]
    braces = tool_errors(tmp_path, "tools:\n  weather: {backend: command, command: [{py}, a]}\n")
    assert braces == [
        "suite.yaml:7: tools.weather.command[0]: expected str, got mapping; unquoted, `{...}` in"
        ' a list is a YAML mapping: quote it ("{model}")'
    ]


def test_each_mistake_is_one_line_at_its_place(tmp_path: Path) -> None:
    found = tool_errors(
        tmp_path,
        """tools:
  weather: {backend: python, function: "tools.weather", timeout_ms: 0}
  search: {backend: http, url: "ftp://x", headers_env: {Authorization: "Bearer abc"}}
  clock: {backend: mcp, server: nowhere, retry: {attempts: 0}}
  ghost: {backend: command, command: [x]}
redact: {patterns: ["(unclosed"]}
match: {ignore_args: ["$.a..b"]}
""",
    )
    assert found == [
        "suite.yaml:7: tools.weather.timeout_ms: must be greater than 0, got 0",
        "suite.yaml:7: tools.weather.function: write it as module:function, e.g. tools:get_weather",
        "suite.yaml:8: tools.search.url: must start with http:// or https://, got 'ftp://x'",
        "suite.yaml:8: tools.search.headers_env.Authorization: must read an environment "
        "variable, e.g. 'Bearer ${API_TOKEN}'; header values never come from the suite file",
        "suite.yaml:9: tools.clock.retry.attempts: must be 1 or more (tries in all), got 0",
        "suite.yaml:9: tools.clock.server: no MCP server 'nowhere' under mcp_servers "
        "(none are declared)",
        "suite.yaml:10: tools.ghost: tool 'ghost' is not in tool_registry; add it there or "
        "remove it here",
        "suite.yaml:11: redact.patterns[0]: invalid regular expression: missing ), unterminated "
        "subpattern at position 0; escape special characters with \\",
        "suite.yaml:12: match.ignore_args[0]: cannot read the path at '..b'; write it as "
        "$.field, $.list[*].field or $.list[0]",
    ]


def test_an_unknown_or_missing_backend_lists_the_valid_ones(tmp_path: Path) -> None:
    valid = "valid backends: python, command, http, mcp"
    found = tool_errors(tmp_path, "tools:\n  weather: {backend: grpc, url: x}\n")
    assert found == [f"suite.yaml:7: tools.weather.backend: unknown backend 'grpc'; {valid}"]
    found = tool_errors(
        tmp_path, "tools:\n  weather: {backend: python, function: a:b}\n  s: {url: x}\n"
    )
    assert found == [f"suite.yaml:8: tools.s.backend: missing required key; {valid}"]


# Sweeps: models, runs, retry ----------------------------------------------------------------


def test_suite_models_and_runs_are_checked_at_load(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        suite_from(
            tmp_path,
            [{"id": "t1", "input": 1, "models": [""]}],
            models=["a", "a"],
            runs=-1,
            retry={"exit_codes": [0], "max_retries": -2},
        )
    text = str(caught.value)
    for expected in (
        "suite.yaml:",
        "models[1]: model 'a' is listed twice",
        "runs: must be 0 or more",
        "retry.exit_codes[0]: must be an exit status from 1 to 255",
        "retry.max_retries: must be 0 or more",
        "t1.yaml:",
        "models[0]: a model name must not be empty",
    ):
        assert expected in text, text
