"""The LLM-judge grader. A judge is a command or a Python callable: it gets the rubric, the
case input and the final output as JSON and answers `{"score": 0..1, "pass": bool, "reason"}`.

With N samples the majority decides; without a majority (a tie, or abstentions: `"pass": null`)
the verdict is `uncertain`, never a pass. A judge that crashes, times out or answers something
else is an infrastructure error (exit 3), not a verdict on the agent.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import msgspec

from harness.config.paths import parse_duration
from harness.config.schema import GraderSpec
from harness.excerpts import cut, cut_tail
from harness.grading.context import GradingContext
from harness.grading.preparation import Preparation
from harness.grading.subprocesses import run_captured
from harness.grading.verdict import UNCERTAIN, GraderError, Verdict, verdict, with_status


class Judge(GraderSpec, frozen=True, tag="judge"):
    rubric: str | list[str]
    command: str | list[str] | None = None  # a string runs through the shell
    function: str | None = None  # `module:function`; the module may sit beside the config
    model: str | None = None  # passed to the judge; --judge-model wins
    samples: int = 1  # --judge-samples wins
    min_score: float | None = None  # a pass also needs the mean score to reach this
    timeout: str | float = "120s"  # per sample


class Vote(msgspec.Struct):
    """One judge answer, as validated."""

    passed: bool | None
    score: float | None
    reason: str


def request_for(
    spec: Judge, context: GradingContext, model: str | None, sample: int
) -> dict[str, Any]:
    return {
        "rubric": spec.rubric,
        "input": context.input,
        "output": context.output,
        "model": model,
        "sample": sample,
        "case_id": context.case_id,
        "tool_calls": [
            {"name": c.name, "args": c.args, "ok": c.ok, "result": c.result, "error": c.error}
            for c in context.calls
        ],
    }


async def grade_judge(spec: Judge, context: GradingContext) -> Verdict:
    samples = context.judge.samples or spec.samples
    model = context.judge.model or spec.model
    votes: list[Vote | None] = [None] * samples
    failed: list[GraderError] = []

    async def ask(index: int) -> None:
        # Kept, not raised: raised inside the task group it would come out wrapped.
        try:
            answer = await _ask(spec, request_for(spec, context, model, index))
            votes[index] = parse_answer(answer, _who(spec))
        except GraderError as exc:
            failed.append(exc)

    async with anyio.create_task_group() as tasks:
        for index in range(samples):
            tasks.start_soon(ask, index)
    if failed:
        raise failed[0]
    return tally(spec, [vote for vote in votes if vote is not None])


def tally(spec: Judge, votes: list[Vote]) -> Verdict:
    """Majority of the votes; no majority is `uncertain`."""
    yes = sum(1 for vote in votes if vote.passed is True)
    no = sum(1 for vote in votes if vote.passed is False)
    total = len(votes)
    scores = [vote.score for vote in votes if vote.score is not None]
    score = sum(scores) / len(scores) if scores else (yes / total if total else None)
    details = {
        "votes": [msgspec.to_builtins(vote) for vote in votes],
        "pass_votes": yes,
        "fail_votes": no,
    }
    tally_text = f"{yes} of {total} sample(s) passed, {no} failed"
    reason = next((vote.reason for vote in votes if vote.reason), "")
    suffix = f"; judge: {reason}" if reason else ""
    if yes * 2 <= total and no * 2 <= total:
        evidence = f"judge uncertain: no majority ({tally_text}){suffix}"
        return with_status(spec, UNCERTAIN, evidence, score=score, details=details)
    passed = yes * 2 > total
    if passed and spec.min_score is not None and (score is None or score < spec.min_score):
        evidence = f"judge passed ({tally_text}) but score {_num(score)} < {spec.min_score}"
        expected = f"score >= {spec.min_score}"
        return verdict(
            spec,
            False,
            evidence + suffix,
            score=score,
            details=details,
            expected=expected,
            observed=score,
        )
    word = "passed" if passed else "failed"
    evidence = f"judge {word} ({tally_text}){suffix}"
    return verdict(spec, passed, evidence, score=score, details=details)


def _num(value: float | None) -> str:
    return "none" if value is None else f"{value:.2f}"


def parse_answer(answer: Any, who: str) -> Vote:
    """A judge's answer checked: an object with `pass` (bool or null) and an optional `score`
    in [0, 1]; anything else is the judge's failure, not the agent's."""
    if not isinstance(answer, dict):
        raise GraderError(f"{who} answered {_short(answer)}, not an object {{score, pass, reason}}")
    if "pass" not in answer:
        raise GraderError(f"{who} answered {_short(answer)} without `pass` (true, false or null)")
    passed, score, reason = answer.get("pass"), answer.get("score"), answer.get("reason", "")
    if passed is not None and not isinstance(passed, bool):
        raise GraderError(f"{who}: `pass` must be true, false or null, got {_short(passed)}")
    numeric = isinstance(score, int | float) and not isinstance(score, bool)
    if score is not None and not (numeric and 0 <= score <= 1):
        raise GraderError(f"{who}: `score` must be a number in [0, 1], got {_short(score)}")
    return Vote(passed=passed, score=None if score is None else float(score), reason=str(reason))


def _short(value: Any) -> str:
    text = msgspec.json.encode(value).decode() if _encodable(value) else repr(value)
    return cut(text, 200)


def _encodable(value: Any) -> bool:
    try:
        msgspec.json.encode(value)
    except (TypeError, msgspec.EncodeError):
        return False
    return True


def _who(spec: Judge) -> str:
    return f"judge command {spec.command!r}" if spec.command else f"judge {spec.function}"


async def _ask(spec: Judge, request: dict[str, Any]) -> Any:
    seconds = parse_duration(spec.timeout)
    if spec.command is not None:
        return await _ask_command(spec, request, seconds)
    assert spec.function is not None
    function = load_function(spec.function)
    with anyio.move_on_after(seconds):
        try:
            if inspect.iscoroutinefunction(function):
                return await function(request)
            return await anyio.to_thread.run_sync(function, request, abandon_on_cancel=True)
        except Exception as exc:  # the judge's own failure, whatever it is
            raise GraderError(f"judge {spec.function} raised {type(exc).__name__}: {exc}") from exc
    raise GraderError(f"judge {spec.function} gave no answer within {spec.timeout}")


async def _ask_command(spec: Judge, request: dict[str, Any], seconds: float) -> Any:
    who = _who(spec)
    try:
        done = await run_captured(
            spec.command,  # type: ignore[arg-type]
            cwd=Path.cwd(),
            timeout_seconds=seconds,
            stdin=msgspec.json.encode(request) + b"\n",
        )
    except OSError as exc:
        raise GraderError(f"{who} could not start: {exc.strerror or exc}") from exc
    if done.timed_out:
        raise GraderError(f"{who} gave no answer within {spec.timeout}")
    if done.exit_code != 0:
        tail = cut_tail(done.stderr.strip(), 300)
        raise GraderError(f"{who} exited with code {done.exit_code}: {tail or 'no stderr'}")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    try:
        return msgspec.json.decode(lines[-1]) if lines else None
    except msgspec.DecodeError:
        raise GraderError(f"{who} printed {lines[-1][:200]!r}, not JSON") from None


def load_function(target: str) -> Callable[..., Any]:
    module_name, _, name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        function = getattr(module, name)
    except (ImportError, AttributeError) as exc:
        raise GraderError(f"judge {target}: cannot load it: {exc}") from exc
    if not callable(function):
        raise GraderError(f"judge {target}: not callable")
    return function  # type: ignore[no-any-return]


def prepare_judge(spec: Judge, where: Preparation) -> Any:
    if (spec.command is None) == (spec.function is None):
        where.error("give the judge as `command` or as `function` (module:function), once")
    if spec.samples < 1:
        where.error(f"must be 1 or more, got {spec.samples}", "samples")
    if spec.min_score is not None and not 0 <= spec.min_score <= 1:
        where.error(f"must be between 0 and 1, got {spec.min_score}", "min_score")
    if not (spec.rubric if isinstance(spec.rubric, str) else any(spec.rubric)):
        where.error("must not be empty: say what the judge should check", "rubric")
    try:
        parse_duration(spec.timeout)
    except ValueError as exc:
        where.error(str(exc), "timeout")
    if spec.function is not None:
        _prepare_function(spec.function, where)
    return spec


def _prepare_function(target: str, where: Preparation) -> None:
    module_name, colon, name = target.partition(":")
    if not colon or not module_name or not name:
        where.error(f"expected module:function, got {target!r}", "function")
        return
    folder = str(where.base_dir)
    if folder not in sys.path:
        # Like a tool module, a judge module may sit beside the suite or config file.
        sys.path.append(folder)
    try:
        load_function(target)
    except GraderError as exc:
        where.error(str(exc).removeprefix(f"judge {target}: "), "function")
