"""`harness vally compare`: two runs judged trial by trial. Records are matched by eval,
stimulus and trial index; each pair goes to the pairwise judge twice, positions swapped (the
stimulus's `pairwise` grader sets the prompt and model). Per trial the score is B's preference
in [-1, 1] (much better +1, slightly better +0.5, equal 0); the summary counts wins, losses
and ties and gives the exact one-sided sign test over the trials that differ, both ways."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec

from harness.errors import UsageError
from harness.gate.paired import sign_test_p
from harness.grading.vally.judges import JudgeConfig, compare_pair
from harness.grading.vally.trajectory import Trajectory
from harness.grading.verdict import GraderError
from harness.vally.model import EvalSpec

Key = tuple[str, str, int]


def records_of(path: Path) -> list[dict[str, Any]]:
    """A run's records: a results.jsonl, or a run folder holding one."""
    file = path / "results.jsonl" if path.is_dir() else path
    if not file.is_file():
        raise UsageError(f"{path}: no results.jsonl (give a run folder or its results.jsonl)")
    records = []
    for number, line in enumerate(file.read_bytes().splitlines(), 1):
        if line.strip():
            try:
                records.append(msgspec.json.decode(line))
            except msgspec.DecodeError as exc:
                raise UsageError(f"{file}:{number}: not JSON: {exc}") from None
    return records


def _by_key(records: Sequence[Mapping[str, Any]], side: str) -> dict[Key, Mapping[str, Any]]:
    keyed: dict[Key, Mapping[str, Any]] = {}
    for record in records:
        key = (
            str(record.get("evalName", "")),
            str(record["stimulusName"]),
            int(record["trialIndex"]),
        )
        if key in keyed:
            raise UsageError(
                f"run {side} has two records for {key[0]}/{key[1]} trial {key[2]} (several "
                "models or variants?): compare one slice at a time"
            )
        keyed[key] = record
    return keyed


async def compare_runs(
    baseline: Sequence[Mapping[str, Any]],
    treatment: Sequence[Mapping[str, Any]],
    specs: Sequence[EvalSpec],
    judge: JudgeConfig,
) -> dict[str, Any]:
    a, b = _by_key(baseline, "A"), _by_key(treatment, "B")
    stimuli = {(spec.name, s.name): s for spec in specs for s in spec.stimuli}
    trials: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for key in sorted(a.keys() & b.keys()):
        stimulus = stimuli.get((key[0], key[1]))
        trial = await _judge_pair(a[key], b[key], stimulus, judge, key[2])
        trials.setdefault((key[0], key[1]), []).append(trial)
    report = {
        "stimuli": [
            {"evalName": e, "stimulusName": s, "meanScore": _mean(t), "trials": t}
            for (e, s), t in trials.items()
        ],
        "unmatchedBaseline": [f"{k[0]}/{k[1]}#{k[2]}" for k in sorted(a.keys() - b.keys())],
        "unmatchedTreatment": [f"{k[0]}/{k[1]}#{k[2]}" for k in sorted(b.keys() - a.keys())],
    }
    report["summary"] = summarize([t for group in trials.values() for t in group])
    return report


async def _judge_pair(
    a: Mapping[str, Any], b: Mapping[str, Any], stimulus: Any, judge: JudgeConfig, index: int
) -> dict[str, Any]:
    base = {"trialIndex": index}
    if a.get("status") != "success" or b.get("status") != "success":
        return {
            **base,
            "errored": True,
            "score": None,
            "winner": None,
            "evidence": "a trial has no trajectory",
        }
    spec = stimulus.pairwise[0] if stimulus is not None and stimulus.pairwise else None
    payload = stimulus.payload() if stimulus is not None else {"name": a["stimulusName"]}
    try:
        verdict = await compare_pair(
            spec, judge, payload, Trajectory(a["trajectory"]), Trajectory(b["trajectory"])
        )
    except GraderError as exc:
        return {**base, "errored": True, "score": None, "winner": None, "evidence": str(exc)}
    score = round((0.5 - verdict["score"]) * 2, 6)  # B's preference in [-1, 1]
    return {
        **base,
        "errored": False,
        "score": score,
        "winner": verdict["winner"],
        "consistent": verdict["consistent"],
        "evidence": f"judge {verdict['model']}: {verdict['winner']}",
    }


def summarize(trials: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    counted = [t for t in trials if not t["errored"]]
    wins = sum(1 for t in counted if t["winner"] == "treatment")
    losses = sum(1 for t in counted if t["winner"] == "baseline")
    return {
        "trialCount": len(counted),
        "erroredCount": len(trials) - len(counted),
        "meanScore": _mean(counted),
        "wins": wins,
        "ties": len(counted) - wins - losses,
        "losses": losses,
        "winRate": wins / len(counted) if counted else 0.0,
        "signTest": {
            "pTreatmentBetter": sign_test_p(wins, losses),
            "pTreatmentWorse": sign_test_p(losses, wins),
            "discordant": wins + losses,
        },
    }


def _mean(trials: Sequence[Mapping[str, Any]]) -> float:
    scores = [t["score"] for t in trials if isinstance(t.get("score"), int | float)]
    return sum(scores) / len(scores) if scores else 0.0
