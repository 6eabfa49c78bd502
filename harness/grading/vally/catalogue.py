"""Vally's built-in grader catalogue as harness grader types. They are registered as types
only Vally eval specs build (like Assay's): a harness suite's `file-contains` keeps its own
fields, a Vally eval spec's has Vally's (`path` glob, `value`, `negate`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from harness.config.schema import GraderSpec
from harness.grading.commands import grade_run_command
from harness.grading.registry import GradeFn, GraderType, PrepareFn, register
from harness.grading.vally import files, judges, metrics, output, program, steps


class Taxonomy(NamedTuple):
    """Vally's grader metadata, as its reports show it."""

    determinism: str  # static | complex-static | slm | llm
    cost: str  # free | low | medium | high
    portability: str  # t1-universal | t2-domain | t3a-scenario


_STATIC = Taxonomy("static", "free", "t1-universal")
_LOW = Taxonomy("static", "low", "t1-universal")
_LLM = Taxonomy("llm", "high", "t3a-scenario")

_ENTRIES: list[tuple[type[GraderSpec], GradeFn, PrepareFn | None, str, Taxonomy]] = [
    (
        output.Completed,
        output.grade_completed,
        None,
        "Session health: output, no errors, a turn ended",
        _STATIC,
    ),
    (
        output.ExitSuccess,
        output.grade_exit_success,
        None,
        "The agent produced non-empty output",
        _STATIC,
    ),
    (
        output.OutputContains,
        output.grade_contains,
        output.prepare_substring,
        "Output contains a substring",
        _LOW,
    ),
    (
        output.OutputNotContains,
        output.grade_contains,
        output.prepare_substring,
        "Output does not contain a substring",
        _LOW,
    ),
    (
        output.OutputMatches,
        output.grade_matches,
        output.prepare_pattern,
        "Output matches a regex",
        _STATIC,
    ),
    (
        output.OutputNotMatches,
        output.grade_matches,
        output.prepare_pattern,
        "Output does not match a regex",
        _STATIC,
    ),
    (
        output.TranscriptContains,
        output.grade_contains,
        output.prepare_substring,
        "The transcript contains a substring",
        _LOW,
    ),
    (
        output.TranscriptMatches,
        output.grade_matches,
        output.prepare_pattern,
        "The transcript matches a regex",
        _STATIC,
    ),
    (
        files.FileExists,
        files.grade_exists,
        files.prepare_file,
        "A file matching the glob exists",
        _LOW,
    ),
    (files.FileNotExists, files.grade_exists, files.prepare_file, "No file matches the glob", _LOW),
    (
        files.FileContains,
        files.grade_contains,
        files.prepare_file,
        "A matching file contains the value",
        _LOW,
    ),
    (
        files.FileNotContains,
        files.grade_contains,
        files.prepare_file,
        "No matching file contains the value",
        _LOW,
    ),
    (
        files.FileMatches,
        files.grade_matches,
        files.prepare_file,
        "A matching file matches the regex",
        _LOW,
    ),
    (
        files.FileNotMatches,
        files.grade_matches,
        files.prepare_file,
        "No matching file matches the regex",
        _LOW,
    ),
    (
        files.DiffContains,
        files.grade_diff,
        files.prepare_file,
        "The workspace diff contains a substring",
        _LOW,
    ),
    (
        files.DiffNotContains,
        files.grade_diff,
        files.prepare_file,
        "The workspace diff lacks a substring",
        _LOW,
    ),
    (files.DiffEmpty, files.grade_diff, files.prepare_file, "The agent changed no file", _LOW),
    (
        steps.ToolCalls,
        steps.grade_tool_calls,
        steps.prepare_tool_calls,
        "Required, disallowed and ordered tool calls",
        _LOW,
    ),
    (
        steps.SkillInvocation,
        steps.grade_skills,
        steps.prepare_skills,
        "Required and disallowed skill activations",
        _STATIC,
    ),
    (
        steps.LoopOutcome,
        steps.grade_loop_outcome,
        steps.prepare_loop_outcome,
        "How the agent loop ended",
        _STATIC,
    ),
    (
        steps.AssistantContainsToolOutput,
        steps.grade_quotes_tool,
        steps.prepare_quotes_tool,
        "The answer quotes a tool's output",
        _STATIC,
    ),
    (
        metrics.TokenBudget,
        metrics.grade_count,
        metrics.prepare_max,
        "Total tokens within max",
        _STATIC,
    ),
    (
        metrics.ToolCallCount,
        metrics.grade_count,
        metrics.prepare_max,
        "Tool calls within max",
        _STATIC,
    ),
    (
        metrics.TurnCount,
        metrics.grade_count,
        metrics.prepare_max,
        "Agent turns within max",
        _STATIC,
    ),
    (
        metrics.ErrorCount,
        metrics.grade_count,
        metrics.prepare_max,
        "Error events within max",
        _STATIC,
    ),
    (
        metrics.WallTime,
        metrics.grade_wall_time,
        metrics.prepare_max,
        "Wall time within max",
        _STATIC,
    ),
    (
        program.VallyRunCommand,
        grade_run_command,
        program.prepare_vally_run_command,
        "Run a command; check exit code and output",
        Taxonomy("complex-static", "low", "t2-domain"),
    ),
    (
        program.Program,
        program.grade_program,
        program.prepare_program,
        "Run a program as the grader",
        Taxonomy("static", "low", "t3a-scenario"),
    ),
    (judges.Prompt, judges.grade_prompt, judges.prepare_judge, "LLM judge on the rubric", _LLM),
    (judges.Panel, judges.grade_panel, judges.prepare_judge, "N LLM judges combined", _LLM),
    (
        judges.Pairwise,
        judges.grade_pairwise,
        judges.prepare_judge,
        "LLM judge of A vs B (compare only)",
        _LLM,
    ),
]

VALLY_GRADERS: dict[str, GraderType] = {
    str(spec.__struct_config__.tag): GraderType(
        name=str(spec.__struct_config__.tag),
        spec=spec,
        grade=grade,
        summary=summary,
        family="vally",
        prepare=prepare,
    )
    for spec, grade, prepare, summary, _ in _ENTRIES
}
TAXONOMY: Mapping[str, Taxonomy] = {
    str(spec.__struct_config__.tag): taxonomy for spec, _, _, _, taxonomy in _ENTRIES
}
LLM_GRADERS = frozenset({"prompt", "panel", "pairwise"})
COMPARE_ONLY = frozenset({"pairwise"})
_registered = {"done": False}


def ensure_registered() -> None:
    """Register the catalogue once, as types only Vally eval specs build."""
    if not _registered["done"]:
        _registered["done"] = True
        for grader in VALLY_GRADERS.values():
            register(grader, public=False)
