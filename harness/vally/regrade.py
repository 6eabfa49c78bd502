"""`harness vally grade`: grade trial records again with an eval spec's current graders, without
running any agent. Records are `vally eval --output jsonl` lines or a run's results.jsonl
(harness's or Vally's own trial-result records); a single trajectory object grades as one
trial of `--stimulus`. File graders read the trial's kept workspace (`trajectory.workDir`, or
`--workspace`); diff graders the snapshot kept beside it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from harness.errors import ConfigError, UsageError
from harness.grading.vally.judges import JudgeConfig
from harness.vally.model import EvalSpec, Stimulus
from harness.vally.records import grade_result
from harness.vally.tallies import Tallies
from harness.vally.trials import grade_trajectory

NOT_KEPT = "the run kept no workspace (run `vally eval` with --skip-grade or --workspace)"


@dataclass(frozen=True)
class GradeSettings:
    judge: JudgeConfig
    threshold: float | None = None
    stimulus: str | None = None  # for a lone trajectory: which stimulus it answers
    workspace: Path | None = None


def read_records(text: str, source: str) -> list[dict[str, Any]]:
    """Trial records from JSONL, or one trajectory object. Other formats are refused by name."""
    stripped = text.strip()
    if not stripped:
        raise UsageError(f"{source}: no records to grade (pipe `vally eval --output jsonl` in)")
    if stripped.startswith("{") and "\n" not in stripped:
        value = _decode(stripped, source, 1)
        if "schema_version" in value and "steps" in value:
            raise UsageError(
                f"{source}: ATIF trajectories are not read by harness; grade trial records"
            )
        return [value]
    return [
        _decode(line, source, i) for i, line in enumerate(stripped.splitlines(), 1) if line.strip()
    ]


def _decode(line: str, source: str, number: int) -> dict[str, Any]:
    try:
        value = msgspec.json.decode(line)
    except msgspec.DecodeError as exc:
        raise ConfigError(source, f"not JSON: {exc}", line=number) from None
    if not isinstance(value, dict):
        raise ConfigError(source, "expected a JSON object (a trial record)", line=number)
    return value


async def regrade(
    spec: EvalSpec, records: Iterable[Mapping[str, Any]], settings: GradeSettings
) -> tuple[list[dict[str, Any]], Tallies]:
    stimuli = {stimulus.name: stimulus for stimulus in spec.stimuli}
    graded, tallies = [], Tallies()
    for index, raw in enumerate(records):
        record = _as_record(raw, settings, index)
        stimulus = stimuli.get(record["stimulusName"])
        if stimulus is None:
            known = ", ".join(sorted(stimuli))
            raise UsageError(
                f"record {index + 1}: stimulus {record['stimulusName']!r} is not in "
                f"{spec.shown}; known: {known}"
            )
        if record.get("status") == "success":
            record = await _grade_one(record, stimulus, spec, settings)
        graded.append(record)
        tallies.add(record)
    for tally in tallies:
        # No plan to read: the records present are the trials (0..highest index).
        tally.planned = max(tally.planned, max(tally.outcomes, default=-1) + 1)
    return graded, tallies


def _as_record(raw: Mapping[str, Any], settings: GradeSettings, index: int) -> dict[str, Any]:
    if "trajectory" in raw:
        record = dict(raw)
    elif "events" in raw and "output" in raw:
        record = {"trajectory": dict(raw), "status": "success"}
    else:
        raise UsageError(f"record {index + 1}: neither a trial record nor a trajectory")
    trajectory = record["trajectory"] or {}
    name = (
        record.get("stimulusName")
        or (trajectory.get("stimulus") or {}).get("name")
        or settings.stimulus
    )
    if not name:
        raise UsageError(f"record {index + 1}: names no stimulus; pass --stimulus NAME")
    record.setdefault("status", "success" if trajectory.get("output") is not None else "error")
    record["stimulusName"] = name
    record.setdefault("evalName", "")
    record.setdefault("trialIndex", index)
    record.setdefault("model", (trajectory.get("metadata") or {}).get("model"))
    record["harness"] = {
        **(record.get("harness") or {}),
        "outcome": record.get("harness", {}).get("outcome", ""),
    }
    return record


async def _grade_one(
    record: dict[str, Any], stimulus: Stimulus, spec: EvalSpec, settings: GradeSettings
) -> dict[str, Any]:
    trajectory = record["trajectory"]
    workspace, note = _workspace(trajectory, settings)
    snapshot = _snapshot((trajectory.get("metadata") or {}).get("setupSnapshot"))
    threshold = settings.threshold if settings.threshold is not None else spec.threshold
    grading = await grade_trajectory(
        stimulus,
        trajectory,
        workspace=workspace,
        baseline=snapshot,
        judge=settings.judge,
        threshold=threshold,
        workspace_note=note,
    )
    outcome = "passed" if grading.decision.status == "pass" else "failed"
    if grading.decision.status == "error":
        outcome = "infra_error"  # a grader that could not run says nothing of the agent
    harness = {**record["harness"], "outcome": outcome, "counted": outcome != "infra_error"}
    return {**record, "gradeResult": grade_result(stimulus.name, grading), "harness": harness}


def _snapshot(value: Any) -> Path | None:
    return Path(value) if isinstance(value, str) and Path(value).is_dir() else None


def _workspace(
    trajectory: Mapping[str, Any], settings: GradeSettings
) -> tuple[Path | None, str | None]:
    if settings.workspace is not None:
        return (
            (settings.workspace, None)
            if settings.workspace.is_dir()
            else (None, f"--workspace {settings.workspace} is not a folder")
        )
    work_dir = trajectory.get("workDir")
    if not work_dir:
        return None, NOT_KEPT
    path = Path(work_dir)
    return (path, None) if path.is_dir() else (None, f"the kept workspace {path} is gone")
