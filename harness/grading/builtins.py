"""The built-in grader catalogue, in the order `harness graders` lists it."""

from __future__ import annotations

import functools

from harness.grading import calls, commands, files, judge, output
from harness.grading.contracts import CONTRACT_GRADERS
from harness.grading.registry import GraderType

_TOOL = "tool name (`tool_name` also accepted)"
_ZERO = "fail (default) | pass: the verdict when the tool was never called"
_WS = "path relative to the workspace; `..` and symlinks out are refused"

OUTPUT_GRADERS = [
    GraderType(
        name="must_contain",
        spec=output.MustContain,
        grade=output.grade_must_contain,
        summary="Every string is a substring of the output (score: the share found).",
        family="output",
        fields={
            "must_contain": "string or list of strings",
            "case_sensitive": "default true",
        },
        ineffective=output.contains_ineffective,
    ),
    GraderType(
        name="must_not_contain",
        spec=output.MustNotContain,
        grade=output.grade_must_not_contain,
        summary="No string is a substring of the output.",
        family="output",
        fields={"must_not_contain": "string or list of strings", "case_sensitive": "default true"},
        prepare=output.prepare_must_not_contain,
        ineffective=output.not_contains_ineffective,
    ),
    GraderType(
        name="regex_match",
        spec=output.RegexMatch,
        grade=output.grade_regex,
        summary="The pattern is found anywhere in the output (unanchored search, as Assay).",
        family="output",
        fields={"pattern": "Python regex", "flags": "list of i, m, s"},
        prepare=output.prepare_regex,
        ineffective=output.regex_ineffective,
    ),
    GraderType(
        name="regex_not_match",
        spec=output.RegexNotMatch,
        grade=output.grade_regex,
        summary="The pattern is found nowhere in the output.",
        family="output",
        fields={"pattern": "Python regex", "flags": "list of i, m, s"},
        prepare=output.prepare_regex,
    ),
    GraderType(
        name="json_match",
        spec=output.JsonMatch,
        grade=output.grade_json_match,
        summary="The output is JSON (a string output is parsed in full) valid against a schema.",
        family="output",
        fields={
            "schema": "inline JSON Schema",
            "schema_file": "or a schema file, relative to the config",
            "schema_path": "the same as schema_file (RunLedger's word)",
            "strip_fences": "take the JSON inside a ```json fence; default false",
        },
        prepare=output.prepare_json_match,
        ineffective=output.json_match_ineffective,
    ),
    GraderType(
        name="exact_match",
        spec=output.ExactMatch,
        grade=output.grade_exact_match,
        summary="The output equals the value: strings exactly, other JSON by value.",
        family="output",
        fields={
            "value": "the expected output (`exact_match` also accepted)",
            "trim": "ignore surrounding whitespace; default false",
            "case_sensitive": "default true",
        },
        prepare=output.prepare_exact_match,
    ),
]


def _tool_step(required: bool, callable_: bool) -> object:
    return functools.partial(calls.prepare_tool, required=required, callable_=callable_)


TRACE_GRADERS = [
    GraderType(
        name="trace_must_call_tool",
        spec=calls.TraceMustCallTool,
        grade=calls.grade_must_call,
        summary="The tool was called at least min_calls times.",
        family="trace",
        fields={"tool": _TOOL, "min_calls": "default 1; 0 is refused"},
        prepare=_tool_step(True, True),  # type: ignore[arg-type]
        ineffective=calls.must_call_ineffective,
    ),
    GraderType(
        name="trace_must_not_call_tool",
        spec=calls.TraceMustNotCallTool,
        grade=calls.grade_must_not_call,
        summary="The tool was never called.",
        family="trace",
        fields={"tool": _TOOL},
        prepare=_tool_step(True, False),  # type: ignore[arg-type]
    ),
    GraderType(
        name="trace_no_tool_call",
        spec=calls.TraceNoToolCall,
        grade=calls.grade_must_not_call,
        summary="The tool was never called (the V1 reference's name for the check above).",
        family="trace",
        fields={"tool": _TOOL},
        prepare=_tool_step(True, False),  # type: ignore[arg-type]
    ),
    GraderType(
        name="trace_tool_args_match",
        spec=calls.TraceToolArgsMatch,
        grade=calls.grade_args_match,
        summary="Every call of the tool has these argument values (a subset match).",
        family="trace",
        fields={
            "tool": _TOOL,
            "args": "mapping; nested mappings match as subsets, lists item by item, 1 == 1.0",
            "on_zero_calls": _ZERO,
        },
        prepare=_tool_step(True, False),  # type: ignore[arg-type]
        ineffective=calls.args_match_ineffective,
    ),
    GraderType(
        name="trace_tool_args_schema",
        spec=calls.TraceToolArgsSchema,
        grade=calls.grade_args_schema,
        summary="Every call's arguments validate against a JSON Schema.",
        family="trace",
        fields={
            "tool": _TOOL,
            "schema": "inline JSON Schema",
            "schema_file": "or a schema file, relative to the config",
            "on_zero_calls": _ZERO,
        },
        prepare=calls.prepare_args_schema,
        ineffective=calls.args_schema_ineffective,
    ),
    GraderType(
        name="trace_tool_sequence",
        spec=calls.TraceToolSequence,
        grade=calls.grade_sequence,
        summary="The calls contain the sequence in order (or are exactly it).",
        family="trace",
        fields={
            "sequence": "tool names",
            "allow_other_tools": "true (default): in order, others between; false: exactly this",
        },
        ineffective=calls.sequence_ineffective,
    ),
    GraderType(
        name="trace_no_tool_errors",
        spec=calls.TraceNoToolErrors,
        grade=calls.grade_no_errors,
        summary="No tool call returned an error (ok: false, or an error value).",
        family="trace",
        fields={"tool": "optional: only this tool's calls"},
        prepare=_tool_step(False, False),  # type: ignore[arg-type]
    ),
    GraderType(
        name="trace_tool_call_count",
        spec=calls.TraceToolCallCount,
        grade=calls.grade_call_count,
        summary="The number of calls (of one tool, or all) is within min..max.",
        family="trace",
        fields={"tool": "optional: count only this tool", "min": "int", "max": "int"},
        prepare=calls.prepare_call_count,
        ineffective=calls.call_count_ineffective,
    ),
    GraderType(
        name="trace_max_steps",
        spec=calls.TraceMaxSteps,
        grade=calls.grade_max_steps,
        summary="The agent sent at most `max` messages (tool calls, logs, final output).",
        family="trace",
        fields={"max": "int"},
        prepare=calls.prepare_max_steps,
    ),
]

_FILE_FIELDS = {"path": _WS}
_file_kinds: list[tuple[str, type[files.FileSpec], str, dict[str, str]]] = [
    ("file-exists", files.FileExists, "The file exists in the workspace.", {}),
    ("file-not-exists", files.FileNotExists, "The file does not exist.", {}),
    (
        "file-contains",
        files.FileContains,
        "The file contains every string.",
        {"text": "string or list", "case_sensitive": "default true"},
    ),
    (
        "file-not-contains",
        files.FileNotContains,
        "The file contains none of the strings.",
        {"text": "string or list", "case_sensitive": "default true"},
    ),
    (
        "file-matches",
        files.FileMatches,
        "The file matches every regex.",
        {"pattern": "regex or list; inline (?i) (?m) (?s)"},
    ),
    (
        "file-not-matches",
        files.FileNotMatches,
        "The file matches none of the regexes.",
        {"pattern": "regex or list; inline (?i) (?m) (?s)"},
    ),
]

WORKSPACE_GRADERS = [
    GraderType(
        name="run-command",
        spec=commands.RunCommand,
        grade=commands.grade_run_command,
        summary="Run a command in the workspace; check its exit code and output (Vally's).",
        family="workspace",
        fields={
            "command": "a shell command, or the program when `args` is given",
            "args": "arguments; given, no shell runs",
            "expected_exit_code": "default 0",
            "stdout_contains": "string or list",
            "stderr_contains": "string or list",
            "stdout_matches": "regex or list; inline (?i) (?m) (?s)",
            "stdout_not_matches": "regex or list",
            "sub_path": "working folder under the workspace; must stay inside it",
            "timeout": "duration, default 60s; killed (with its children) at the deadline",
            "env": "extra environment, merged over harness's",
        },
        prepare=commands.prepare_run_command,
    ),
    *[
        GraderType(
            name=name,
            spec=spec,
            grade=files.grade_file,
            summary=summary,
            family="workspace",
            fields={**_FILE_FIELDS, **extra},
            prepare=files.prepare_file,
            ineffective=files.text_ineffective,
        )
        for name, spec, summary, extra in _file_kinds
    ],
]

JUDGE_GRADERS = [
    GraderType(
        name="judge",
        spec=judge.Judge,
        grade=judge.grade_judge,
        summary="An LLM judge (a command or Python callable) grades the output on a rubric.",
        family="judge",
        fields={
            "rubric": "what the judge checks (string or list)",
            "command": "gets {rubric, input, output, model, ...} on stdin, prints "
            "{score, pass, reason}",
            "function": "or module:function, called with the same object",
            "model": "passed to the judge; --judge-model wins",
            "samples": "default 1; majority of N, no majority is uncertain; --judge-samples wins",
            "min_score": "a pass also needs the mean score to reach this",
            "timeout": "per sample, default 120s",
        },
        prepare=judge.prepare_judge,
    ),
]

# Assay's own metrics and fixture assertions are in harness.assay.graders (registered when
# an Assay config first needs them).
BUILTIN_GRADERS = [
    *CONTRACT_GRADERS,
    *OUTPUT_GRADERS,
    *TRACE_GRADERS,
    *WORKSPACE_GRADERS,
    *JUDGE_GRADERS,
]
__all__ = ["BUILTIN_GRADERS"]
