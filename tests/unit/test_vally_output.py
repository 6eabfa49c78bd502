"""Vally's output and transcript graders and the session-health checks, with Vally's evidence."""

from __future__ import annotations

import pytest

from harness.grading.context import GradingContext
from harness.grading.engine import run_grader
from harness.grading.vally.catalogue import ensure_registered
from harness.grading.vally.output import (
    Completed,
    ExitSuccess,
    OutputContains,
    OutputMatches,
    OutputNotContains,
    OutputNotMatches,
    TranscriptContains,
    TranscriptMatches,
)
from tests.support.vally_trajectories import event, grade, tool_round, trajectory


async def test_output_contains_is_case_insensitive_by_default() -> None:
    found = await grade(OutputContains(substring="HELLO world"), trajectory("hello World!"))
    assert (found.status, found.evidence, found.score) == (
        "pass",
        "'HELLO world' found in output",
        1.0,
    )
    strict = OutputContains(substring="HELLO", case_sensitive=True)
    missing = await grade(strict, trajectory("hello"))
    assert (missing.status, missing.evidence, missing.score) == (
        "fail",
        "'HELLO' NOT found in output",
        0.0,
    )


@pytest.mark.parametrize(
    ("spec", "passed"),
    [
        (OutputNotContains(substring="error"), True),
        (OutputContains(substring="error", negate=True), True),
        (OutputNotContains(substring="fine"), False),
    ],
)
async def test_negated_contains(spec: OutputContains, passed: bool) -> None:
    assert (await grade(spec, trajectory("all fine"))).passed is passed


async def test_output_matches_with_inline_flags_and_js_named_groups() -> None:
    matched = await grade(OutputMatches(pattern=r"(?i)function\s+\w+\("), trajectory("FUNCTION f("))
    assert matched.evidence == r"Output matches pattern /(?i)function\s+\w+\(/"
    named = await grade(OutputMatches(pattern=r"(?<word>\d+) items"), trajectory("3 items"))
    assert named.passed
    refused = await grade(OutputNotMatches(pattern="(?i)error"), trajectory("ERROR: boom"))
    assert (refused.passed, refused.evidence) == (False, "Output matches pattern /(?i)error/")


async def test_transcript_graders_see_tool_calls_and_results() -> None:
    events = tool_round("search", "c1", {"query": "weather paris"}, {"temp": 21})
    traj = trajectory("It is warm", events=events)
    assert (await grade(TranscriptContains(substring="weather paris"), traj)).passed
    assert not (await grade(OutputContains(substring="weather paris"), traj)).passed
    matched = await grade(TranscriptMatches(pattern=r'"temp":\s*21'), traj)
    assert matched.evidence.startswith("Transcript matches pattern")


async def test_completed_checks_output_errors_and_a_finished_turn() -> None:
    ok = await grade(Completed(), trajectory("done"))
    assert (ok.passed, ok.evidence) == (True, "Agent session completed successfully")
    empty = await grade(Completed(), trajectory("  "))
    assert empty.evidence == "Agent produced no output"
    errors = trajectory("done", events=[event("error", message="x"), event("error", message="y")])
    assert (await grade(Completed(), errors)).evidence == "2 error event(s) in trajectory"
    crashed = trajectory("done", events=[event("turn_start", turnId="t")])
    assert (await grade(Completed(), crashed)).evidence.startswith("No turn_end events found")
    # exit-success only wants output
    assert (await grade(ExitSuccess(), crashed)).evidence == "Agent completed successfully"
    assert not (await grade(ExitSuccess(), trajectory(""))).passed


async def test_a_context_without_a_trajectory_is_a_grader_error() -> None:
    ensure_registered()
    result = await run_grader(ExitSuccess(), GradingContext(output="x"))
    assert result.status == "error"
    assert "no Vally trajectory" in result.evidence
