"""The run folder as Vally writes it, `<output-dir>/<timestamp>/`: `results.jsonl` (one record
per trial, appended as each ends, so an interrupted run keeps what finished),
`executor-session-logs/<eval>/<model>/<stimulus>/trial-<n>/{metadata.json,events.jsonl,
stderr.log}`, and at the end `eval-results.md`, `eval-results.junit.xml` (with --junit) and
`summary.json`; plus `<output-dir>/latest`, a stable pointer to the newest run."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from harness.errors import InfrastructureError
from harness.storage.atomic import LineAppender, atomic_write, disk_error
from harness.storage.runs import safe_name
from harness.vally.records import Slot, encode

RESULTS = "results.jsonl"
SESSION_LOGS = "executor-session-logs"
LATEST = "latest"


def run_id(now: dt.datetime | None = None) -> str:
    """Vally's folder name: `2026-06-09T20-41-10-885Z` (UTC, milliseconds)."""
    now = now or dt.datetime.now(dt.UTC)
    return now.strftime("%Y-%m-%dT%H-%M-%S-") + f"{now.microsecond // 1000:03d}Z"


def create_run_folder(output_dir: Path) -> Path:
    """A new timestamped folder under `output_dir` (a suffix when two runs share a millisecond)."""
    name = run_id()
    for attempt in range(100):
        root = output_dir / (name if attempt == 0 else f"{name}-{attempt}")
        try:
            root.mkdir(parents=True, exist_ok=False)
        except FileExistsError:
            continue
        except OSError as exc:
            raise InfrastructureError(
                f"{output_dir}: cannot create the run folder: {exc.strerror or exc}"
            ) from exc
        return root
    raise InfrastructureError(f"{output_dir}: cannot find a free run folder name")


def point_latest(output_dir: Path, root: Path) -> None:
    """`<output-dir>/latest` -> the run folder, replaced atomically (a symlink, and
    `latest.txt` naming it for tools that do not follow links)."""
    link = output_dir / LATEST
    temp = output_dir / f".{LATEST}.{os.getpid()}"
    try:
        if temp.is_symlink() or temp.exists():
            temp.unlink()
        os.symlink(root.name, temp)
        os.replace(temp, link)
        atomic_write(output_dir / f"{LATEST}.txt", root.name.encode() + b"\n")
    except OSError as exc:
        raise disk_error(link, exc) from exc


class Sink:
    """One results.jsonl and its session logs (the run's, or one experiment variant's)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.results = LineAppender(root / RESULTS)
        self.records = 0

    def session_dir(self, slot: Slot) -> Path:
        folder = self.root / SESSION_LOGS / safe_name(slot.eval_name)
        folder = folder / safe_name(slot.model or "default") / safe_name(slot.stimulus)
        return folder / f"trial-{slot.trial_index}"

    def write(self, slot: Slot, record: Mapping[str, Any]) -> None:
        """The record appended, and the trial's session log beside its stderr."""
        self.results.append(encode(record))
        self.records += 1
        folder = self.session_dir(slot)
        trajectory = record.get("trajectory") or {}
        metadata = {
            "evalName": slot.eval_name,
            "evalFilePath": slot.eval_file,
            "variant": slot.variant,
            "model": slot.model,
            "stimulusName": slot.stimulus,
            "trialIndex": slot.trial_index,
            "status": record.get("status"),
            "durationMs": record.get("durationMs"),
            "endReason": trajectory.get("endReason"),
            "workDir": trajectory.get("workDir"),
            "attemptId": record["harness"]["attemptId"],
        }
        try:
            folder.mkdir(parents=True, exist_ok=True)
            atomic_write(folder / "metadata.json", _json(metadata))
            events = trajectory.get("events") or []
            atomic_write(folder / "events.jsonl", b"".join(encode(e) for e in events))
        except OSError as exc:
            raise disk_error(folder, exc) from exc

    def write_document(self, name: str, data: bytes) -> Path:
        path = self.root / name
        try:
            atomic_write(path, data)
        except OSError as exc:
            raise disk_error(path, exc) from exc
        return path

    def close(self) -> None:
        self.results.close()


def _json(value: Any) -> bytes:
    return msgspec.json.format(msgspec.json.encode(value)) + b"\n"


def json_document(value: Any) -> bytes:
    return _json(value)
