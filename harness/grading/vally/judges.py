"""Vally's LLM graders through a judge command (offline and testable: harness never calls a
model itself). `prompt` asks one judge to score the trial on the stimulus's rubric; `panel`
asks several models and combines them; `pairwise` compares two trials and runs only in
`harness vally compare`.

The judge command gets one JSON request on stdin and prints one JSON answer: for prompt and
panel `{"score": <on the scale>, "reasoning": "..."}` (binary 0|1, scale_1_5 1..5,
scale_1_10 1..10; harness normalizes to 0..1), for pairwise `{"winner": "A"|"B"|"tie",
"magnitude": "much-better"|"slightly-better"|"equal", "reasoning": "..."}`.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import anyio
import msgspec

from harness.config.schema import GraderSpec
from harness.excerpts import cut_tail
from harness.grading.context import GradingContext
from harness.grading.preparation import Preparation
from harness.grading.subprocesses import run_captured
from harness.grading.vally.text import transcript_text
from harness.grading.vally.trajectory import JUDGE_KEY, Trajectory, stimulus_of, trajectory_of
from harness.grading.verdict import GraderError, Verdict, shorten, verdict

DEFAULT_JUDGE_MODEL = "claude-sonnet-4.6"  # Vally's documented default judge
DEFAULT_JUDGE_TIMEOUT_SECONDS = 120.0
Scale = Literal["binary", "scale_1_5", "scale_1_10"]
_RANGES: dict[str, tuple[float, float]] = {
    "binary": (0.0, 1.0),
    "scale_1_5": (1.0, 5.0),
    "scale_1_10": (1.0, 10.0),
}
MAGNITUDE_SCORES = {"much-better": 1.0, "slightly-better": 0.75, "equal": 0.5}


class Prompt(GraderSpec, frozen=True, tag="prompt"):
    prompt: str | None = None
    model: str | None = None
    scoring: Scale = "scale_1_5"
    threshold: float = 0.5


class Panel(GraderSpec, frozen=True, tag="panel"):
    models: list[str]
    aggregation: Literal["mean", "median", "majority", "min"] = "mean"
    prompt: str | None = None
    scoring: Scale = "scale_1_5"
    threshold: float = 0.5


class Pairwise(GraderSpec, frozen=True, tag="pairwise"):
    prompt: str | None = None
    model: str | None = None
    threshold: float = 0.5


class JudgeConfig(msgspec.Struct, frozen=True):
    """The run's judge: the command, and the model the CLI or the spec chose."""

    command: str | list[str] | None = None
    model: str | None = None  # --judge-model, else the spec's judge_model
    reasoning_effort: str | None = None
    timeout_seconds: float = DEFAULT_JUDGE_TIMEOUT_SECONDS


def judge_of(context: GradingContext) -> JudgeConfig:
    judge = context.meta.get(JUDGE_KEY)
    if not isinstance(judge, JudgeConfig) or judge.command is None:
        raise GraderError(
            "no judge command: set `judge: {command: [...]}` in harness.yaml or .vally.yaml, "
            "or pass --judge-command"
        )
    return judge


async def ask_judge(judge: JudgeConfig, request: Mapping[str, Any]) -> dict[str, Any]:
    """One request to the judge command; its last stdout line must be a JSON object."""
    who = f"judge command {judge.command!r}"
    assert judge.command is not None
    try:
        done = await run_captured(
            judge.command,
            cwd=Path.cwd(),
            timeout_seconds=judge.timeout_seconds,
            stdin=msgspec.json.encode(request) + b"\n",
        )
    except OSError as exc:
        raise GraderError(f"{who} could not start: {exc.strerror or exc}") from exc
    if done.timed_out:
        raise GraderError(f"{who} gave no answer within {judge.timeout_seconds:g}s")
    if done.exit_code != 0:
        tail = cut_tail(done.stderr.strip(), 300)
        raise GraderError(f"{who} exited with code {done.exit_code}: {tail or 'no stderr'}")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    try:
        answer = msgspec.json.decode(lines[-1]) if lines else None
    except msgspec.DecodeError:
        answer = None
    if not isinstance(answer, dict):
        raise GraderError(f"{who} printed {shorten(done.stdout.strip(), 200)}, not a JSON object")
    return answer


def normalize(answer: Mapping[str, Any], scale: str, who: str) -> float:
    raw = answer.get("score")
    low, high = _RANGES[scale]
    if not isinstance(raw, int | float) or isinstance(raw, bool) or not low <= raw <= high:
        raise GraderError(f"{who}: `score` must be a number in [{low:g}, {high:g}] ({scale})")
    return (float(raw) - low) / (high - low)


def _request(spec: Prompt | Panel, context: GradingContext, model: str) -> dict[str, Any]:
    trajectory = trajectory_of(context)
    stimulus = stimulus_of(context)
    judge = judge_of(context)
    return {
        "grader": type(spec).__struct_config__.tag,
        "model": model,
        "reasoning_effort": judge.reasoning_effort,
        "prompt": spec.prompt,
        "rubric": list(stimulus.get("rubric") or []),
        "scoring": spec.scoring,
        "stimulus": {"name": stimulus.get("name"), "prompt": stimulus.get("prompt")},
        "output": trajectory.output,
        "transcript": transcript_text(trajectory),
    }


def _reason(answer: Mapping[str, Any]) -> str:
    reason = answer.get("reasoning", answer.get("reason", ""))
    return str(reason) if reason else ""


async def grade_prompt(spec: Prompt, context: GradingContext) -> Verdict:
    judge = judge_of(context)
    model = spec.model or judge.model or DEFAULT_JUDGE_MODEL
    answer = await ask_judge(judge, _request(spec, context, model))
    score = normalize(answer, spec.scoring, f"judge ({model})")
    passed = score >= spec.threshold
    evidence = f"Judge ({model}) scored {score:.2f} (threshold {spec.threshold})"
    if reason := _reason(answer):
        evidence += f": {shorten(reason, 300)}"
    details = {"model": model, "raw_score": answer.get("score"), "criteria": answer.get("criteria")}
    return verdict(spec, passed, evidence, score=score, details=details)


async def grade_panel(spec: Panel, context: GradingContext) -> Verdict:
    judge = judge_of(context)
    scores: dict[str, float] = {}
    failed: dict[str, str] = {}

    async def one(model: str) -> None:
        # A judge that fails is left out; the others keep scoring (Vally's isolation).
        try:
            answer = await ask_judge(judge, _request(spec, context, model))
            scores[model] = normalize(answer, spec.scoring, f"judge ({model})")
        except GraderError as exc:
            failed[model] = str(exc)

    async with anyio.create_task_group() as tasks:
        for model in spec.models:
            tasks.start_soon(one, model)
    if not scores:
        raise GraderError(f"every panel judge failed: {'; '.join(failed.values())}")
    score, passed = aggregate(spec, [scores[m] for m in spec.models if m in scores])
    evidence = f"Panel of {len(scores)} judge(s) ({spec.aggregation}) scored {score:.2f}"
    evidence += f" (threshold {spec.threshold})"
    if failed:
        evidence += f"; {len(failed)} judge(s) failed and were left out: {', '.join(failed)}"
    details = {"scores": scores, "failed": failed, "aggregation": spec.aggregation}
    return verdict(spec, passed, evidence, score=score, details=details)


def aggregate(spec: Panel, scores: Sequence[float]) -> tuple[float, bool]:
    if spec.aggregation == "majority":
        votes = sum(1 for score in scores if score >= spec.threshold)
        return votes / len(scores), votes * 2 > len(scores)
    if spec.aggregation == "median":
        score = float(statistics.median(scores))
    elif spec.aggregation == "min":
        score = min(scores)
    else:
        score = statistics.fmean(scores)
    return score, score >= spec.threshold


async def grade_pairwise(spec: Pairwise, context: GradingContext) -> Verdict:
    raise GraderError("pairwise graders compare two runs: they run in `harness vally compare`")


async def compare_pair(
    spec: Pairwise | None,
    judge: JudgeConfig,
    stimulus: Mapping[str, Any],
    baseline: Trajectory,
    treatment: Trajectory,
) -> dict[str, Any]:
    """Judge A (baseline) against B (treatment) twice, positions swapped, and merge: the score
    is A's (> 0.5: the baseline is better), `winner` is baseline | treatment | tie."""
    model = (spec.model if spec else None) or judge.model or DEFAULT_JUDGE_MODEL
    sides = {"baseline": baseline, "treatment": treatment}

    def request(first: str, second: str) -> dict[str, Any]:
        return {
            "grader": "pairwise",
            "model": model,
            "prompt": spec.prompt if spec else None,
            "rubric": list(stimulus.get("rubric") or []),
            "stimulus": {"name": stimulus.get("name"), "prompt": stimulus.get("prompt")},
            "a": {"output": sides[first].output, "transcript": transcript_text(sides[first])},
            "b": {"output": sides[second].output, "transcript": transcript_text(sides[second])},
        }

    straight = _pair_score(await ask_judge(judge, request("baseline", "treatment")), model)
    swapped = 1.0 - _pair_score(await ask_judge(judge, request("treatment", "baseline")), model)
    score = (straight + swapped) / 2
    winner = "tie" if score == 0.5 else ("baseline" if score > 0.5 else "treatment")
    consistent = (straight - 0.5) * (swapped - 0.5) > 0 or straight == swapped == 0.5
    return {"score": score, "winner": winner, "consistent": consistent, "model": model}


def _pair_score(answer: Mapping[str, Any], model: str) -> float:
    """A's score from one answer: A better 0.75..1, equal 0.5, B better 0..0.25."""
    winner = str(answer.get("winner", "")).upper()
    magnitude = str(answer.get("magnitude", "equal" if winner == "TIE" else "slightly-better"))
    if winner not in ("A", "B", "TIE") or magnitude not in MAGNITUDE_SCORES:
        raise GraderError(
            f"judge ({model}) answered {shorten(dict(answer), 200)}; expected winner A|B|tie and "
            "magnitude much-better|slightly-better|equal"
        )
    if winner == "TIE" or magnitude == "equal":
        return 0.5
    value = MAGNITUDE_SCORES[magnitude]
    return value if winner == "A" else 1.0 - value


def prepare_judge(spec: Any, where: Preparation) -> Any:
    if not 0 <= spec.threshold <= 1:
        where.error(f"must be between 0 and 1, got {spec.threshold}", "threshold")
    if isinstance(spec, Panel):
        if not spec.models:
            where.error("list at least one judge model", "models")
        if len(set(spec.models)) != len(spec.models):
            where.error("a model is listed twice", "models")
    return spec
