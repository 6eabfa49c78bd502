"""The LLM judge, offline: a real judge command and a Python callable. Majority of N samples; a
split vote is `uncertain`, never a pass; a judge that fails is an error, not a verdict."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from harness.grading.context import GradingContext, JudgeSettings
from harness.grading.engine import run_grader
from harness.grading.judge import Judge, Vote, parse_answer, tally
from harness.grading.verdict import ERRORED, FAILED, PASSED, UNCERTAIN, GraderError, Verdict

AGENTS = Path(__file__).resolve().parents[1] / "agents"
COMMAND = [sys.executable, str(AGENTS / "judge.py")]


@pytest.fixture(autouse=True)
def judges_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # `function: judge:answer` imports tests/agents/judge.py as the module `judge`.
    monkeypatch.syspath_prepend(AGENTS)


async def grade(spec: Judge, output: Any = "the answer is Paris", **judge: Any) -> Verdict:
    context = GradingContext(output=output, input={"q": "capital?"}, judge=JudgeSettings(**judge))
    return await run_grader(spec, context)


@pytest.mark.parametrize("how", [{"command": COMMAND}, {"function": "judge:answer"}])
async def test_a_judge_passes_and_fails(how: dict[str, Any]) -> None:
    passed = await grade(Judge(rubric="mentions Paris", **how))
    assert passed.status == PASSED
    assert (
        passed.evidence
        == "judge passed (1 of 1 sample(s) passed, 0 failed); judge: looked for Paris"
    )
    failed = await grade(Judge(rubric="mentions Rome", **how))
    assert failed.status == FAILED
    assert failed.score == 0.0


async def test_majority_of_three_decides() -> None:
    verdict = await grade(Judge(rubric="split", command=COMMAND, samples=3))
    assert verdict.status == PASSED
    assert verdict.evidence.startswith("judge passed (2 of 3 sample(s) passed, 1 failed)")
    assert verdict.details is not None and verdict.details["pass_votes"] == 2


async def test_a_split_vote_is_uncertain_never_a_pass() -> None:
    verdict = await grade(Judge(rubric="split", function="judge:answer"), samples=2)
    assert verdict.status == UNCERTAIN
    assert verdict.evidence.startswith("judge uncertain: no majority (1 of 2 sample(s) passed")
    assert verdict.score == 0.5


async def test_abstentions_leave_no_majority() -> None:
    verdict = await grade(Judge(rubric="abstain", command=COMMAND, samples=3))
    assert verdict.status == UNCERTAIN


async def test_min_score_turns_a_weak_pass_into_a_fail() -> None:
    verdict = await grade(Judge(rubric="split", function="judge:answer", samples=3, min_score=0.9))
    assert verdict.status == FAILED
    assert verdict.evidence.startswith("judge passed (2 of 3 sample(s) passed, 1 failed) but score")


async def test_command_line_model_and_samples_win() -> None:
    spec = Judge(rubric="always pass", function="judge:answer", model="small", samples=1)
    verdict = await grade(spec, model="big", samples=3)
    assert (
        verdict.evidence
        == "judge passed (3 of 3 sample(s) passed, 0 failed); judge: fine (model big)"
    )


@pytest.mark.parametrize(
    ("rubric", "message"),
    [
        ("crash", "exited with code 3: judge: model endpoint unreachable"),
        ("garbage", "printed 'I think it is fine', not JSON"),
        ("no verdict", 'answered {"score":0.5} without `pass`'),
    ],
)
async def test_judge_failures_are_errors(rubric: str, message: str) -> None:
    verdict = await grade(Judge(rubric=rubric, command=COMMAND))
    assert verdict.status == ERRORED
    assert message in verdict.evidence


async def test_a_missing_function_is_an_error() -> None:
    verdict = await grade(Judge(rubric="x", function="judge:nope"))
    assert verdict.status == ERRORED
    assert "cannot load it" in verdict.evidence


@pytest.mark.parametrize(
    "answer",
    [[], {"pass": "yes"}, {"pass": True, "score": 2}, {"pass": True, "score": True}],
)
def test_parse_answer_refuses_malformed_answers(answer: Any) -> None:
    with pytest.raises(GraderError):
        parse_answer(answer, "judge")


def test_tally_without_scores_uses_the_pass_share() -> None:
    votes = [Vote(True, None, ""), Vote(True, None, ""), Vote(False, None, "")]
    verdict = tally(Judge(rubric="r", command="x"), votes)
    assert verdict.status == PASSED
    assert verdict.score == pytest.approx(2 / 3)


async def test_a_function_that_raises_is_an_error() -> None:
    verdict = await grade(Judge(rubric="x", function="judge:broken", samples=2))
    assert verdict.status == ERRORED
    assert verdict.evidence == "judge judge:broken raised RuntimeError: rate limited"
