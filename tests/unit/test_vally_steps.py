"""Vally's trajectory graders: tool-calls (regex names, argument filters, counts, positions,
the final call, sequences), skill-invocation, loop-outcome, assistant-contains-tool-output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.config.containment import Project
from harness.config.yaml_source import Document, Problems
from harness.grading.preparation import Preparation
from harness.grading.vally.steps import (
    AssistantContainsToolOutput,
    LoopOutcome,
    SkillInvocation,
    ToolCalls,
    ToolMatch,
    prepare_skills,
    prepare_tool_calls,
)
from tests.support.vally_trajectories import event, grade, tool_round, trajectory


def session(output: str = "The time in Paris is 14:05.") -> dict[str, Any]:
    events = [
        *tool_round("view", "c1", {"path": "README.md"}, "# readme"),
        *tool_round("bash", "c2", {"command": "npm test"}, "3 passing"),
        *tool_round("get_current_time", "c3", {"timezone": "Europe/Paris"}, {"datetime": "14:05"}),
        event("turn_start", turnId="final"),
        event("skill_activation", skillName="code-review"),
        event("assistant_message", content=output),
        event("turn_end", turnId="final"),
    ]
    return trajectory(output, events=events)


@pytest.mark.parametrize(
    ("spec", "passed"),
    [
        (ToolCalls(required=["view", ToolMatch(name="bash", command="npm test")]), True),
        (ToolCalls(required=[ToolMatch(name="bash", command="pytest")]), False),
        (ToolCalls(required=["^get_"], disallowed=[ToolMatch(name="view", path=r"\.env$")]), True),
        (ToolCalls(disallowed=["bash"]), False),
        (ToolCalls(required=[ToolMatch(name="view", at_step=0)]), True),
        (ToolCalls(required=[ToolMatch(name="bash", before_step=1)]), False),
        (ToolCalls(required=[ToolMatch(name="time", final=True)]), True),
        (ToolCalls(required=[ToolMatch(name="bash", final=True)]), False),
        (ToolCalls(required=[ToolMatch(name=".", min_count=3)]), True),
        (ToolCalls(required=[ToolMatch(name=".", min_count=4)]), False),
        (ToolCalls(required=[ToolMatch(name="bash", result="passing")]), True),
        (ToolCalls(required=[ToolMatch(name="get", args={"timezone": "^Europe/"})]), True),
        (ToolCalls(required=[ToolMatch(name="get", pattern='"timezone":"Asia')]), False),
        (ToolCalls(sequence=["view", "get_current_time"]), True),
        (ToolCalls(sequence=["get_current_time", "view"]), False),
    ],
)
async def test_tool_calls(spec: ToolCalls, passed: bool) -> None:
    result = await grade(spec, session())
    assert result.passed is passed, result.evidence
    assert result.score == (1.0 if passed else 0.0)


async def test_tool_calls_evidence() -> None:
    spec = ToolCalls(required=[ToolMatch(name="bash", command="pytest")], sequence=["x", "view"])
    result = await grade(spec, session())
    assert result.evidence == (
        "Required tool 'bash' (command~pytest) not called (matched 0); "
        "Sequence x -> view not followed (matched 0 of 2)"
    )
    ok = await grade(ToolCalls(required=["view"]), session())
    assert ok.evidence == "All tool-call checks passed (3 call(s))"


async def test_skill_invocation() -> None:
    assert (await grade(SkillInvocation(required=["code-review"]), session())).passed
    failed = await grade(
        SkillInvocation(required=["summarization"], disallowed=["code-review"]), session()
    )
    assert failed.evidence == (
        "Missing required skills: summarization; Disallowed skills activated: code-review"
    )


async def test_loop_outcome() -> None:
    assert (await grade(LoopOutcome(), session())).passed
    timed_out = {**session(), "endReason": "agent_timeout"}
    result = await grade(LoopOutcome(), timed_out)
    assert (result.passed, result.evidence) == (
        False,
        "Loop ended: agent_timeout (expected completed)",
    )
    assert (await grade(LoopOutcome(expected=["completed", "agent_timeout"]), timed_out)).passed


async def test_assistant_contains_tool_output() -> None:
    quoted = await grade(AssistantContainsToolOutput(), session())
    assert quoted.passed, quoted.evidence
    assert "get_current_time" in quoted.evidence
    invented = await grade(AssistantContainsToolOutput(), session("It is noon somewhere."))
    assert not invented.passed
    only_view = AssistantContainsToolOutput(tool="^view$")
    assert not (await grade(only_view, session())).passed


async def test_skill_overlap_and_empty_checks_are_load_errors() -> None:
    problems = Problems()
    document = Document(Path("e.yaml"), "e.yaml", b"", {}, {})
    where = Preparation(
        document, "$.stimuli[0].graders[0]", Path("."), Project.of_suite(Path(".")), problems
    )
    prepare_skills(SkillInvocation(required=["a"], disallowed=["a"]), where)
    prepare_tool_calls(ToolCalls(sequence=[ToolMatch(name="(", result="x")]), where)
    messages = [error.render() for error in problems.errors]
    assert any("both required and disallowed: a" in m for m in messages)
    assert any("invalid regular expression '('" in m for m in messages)
    assert any("result is not supported on sequence entries" in m for m in messages)
