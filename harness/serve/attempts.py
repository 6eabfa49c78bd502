"""Attempts of one run: a filtered page of them (streamed from results.jsonl), and one attempt
whole: its result, its transcript in order and the tail of its stderr.

Files are found from the run directory's own layout (attempts/<case>/[<model>/]trial-<n>/),
never from a path written in a result, and each is checked to be inside the run directory.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from harness.config.containment import outside
from harness.results import AttemptResult
from harness.serve.lines import (
    Row,
    complete_lines,
    decode_object,
    decode_row,
    iter_rows,
    read_result,
)
from harness.storage.runs import safe_name, to_builtins

STDERR_TAIL_BYTES = 64 * 1024
MAX_STRING_CHARS = 20_000
MAX_EVENTS = 5_000


def row_view(row: Row) -> dict[str, Any]:
    """An attempt as the attempts list shows it."""
    return {
        "attempt_id": row.key,
        "case_id": row.case_id,
        "model": row.model,
        "trial": row.trial,
        "status": row.status,
        "outcome": row.outcome,
        "reason": row.reason,
        "message": row.failures[0].message[:300] if row.failures else None,
        "wall_ms": row.wall_ms,
        "cost_usd": row.cost_usd,
        "tokens_out": row.tokens_out,
        "tool_calls": row.tool_calls,
        "score": row.score,
        "flaky": row.flaky,
        "started_at": row.started_at,
    }


def attempts_page(
    results: Path, matches: Callable[[Row], bool], page: tuple[int, int]
) -> tuple[int, list[dict[str, Any]]]:
    """(how many attempts match, the requested page of them) in the order they finished."""
    number, size = page
    first = (number - 1) * size
    total = 0
    items: list[dict[str, Any]] = []
    for _, _, row in iter_rows(results):
        if not matches(row):
            continue
        if first <= total < first + size:
            items.append(row_view(row))
        total += 1
    return total, items


def find_result(results: Path, key: str) -> AttemptResult | None:
    """The final result line of attempt `key` (the last one, should there be two)."""
    marker = msgspec.json.encode(key)
    found: int | None = None
    for offset, line in complete_lines(results):
        if marker in line:
            row = decode_row(line)
            if row is not None and row.key == key:
                found = offset
    return None if found is None else read_result(results, found)


def attempt_folder(run_dir: Path, result: AttemptResult) -> Path:
    """Where the attempt's files are, as RunDirectory lays them out."""
    if result.model is None and result.trial is None:
        return run_dir / "attempts" / safe_name(result.attempt_id or result.case_id)
    folder = run_dir / "attempts" / safe_name(result.case_id)
    if result.model is not None:
        folder /= safe_name(result.model)
    if result.trial is not None:
        folder /= f"trial-{result.trial}"
    return folder


def transcript(run_dir: Path, result: AttemptResult) -> list[dict[str, Any]]:
    """The attempt's events in order: its transcript.jsonl in a sweep, else its lines of
    run.jsonl. When an attempt was re-run, the last try's events (from its last task_start)."""
    folder = attempt_folder(run_dir, result)
    own = folder / "transcript.jsonl"
    key = result.attempt_id or result.case_id
    sweep = result.model is not None or result.trial is not None
    source = own if sweep else run_dir / "run.jsonl"

    def mine(event: dict[str, Any]) -> bool:
        return sweep or str(event.get("attempt_id") or event.get("case_id")) == key

    if outside(source, (run_dir,)):
        return []
    marker = msgspec.json.encode(key)
    events: list[dict[str, Any]] = []
    for _, line in complete_lines(source):
        if source != own and marker not in line:
            continue
        event = decode_object(line)
        if event is None or not mine(event):
            continue
        if event.get("type") == "task_start":
            events = []
        if len(events) < MAX_EVENTS:
            events.append(clip(event))
    return events


def stderr_tail(run_dir: Path, result: AttemptResult) -> dict[str, Any] | None:
    """The last STDERR_TAIL_BYTES of the attempt's stderr.log, with its whole size."""
    path = attempt_folder(run_dir, result) / "stderr.log"
    if outside(path, (run_dir,)):
        return None
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            handle.seek(max(0, size - STDERR_TAIL_BYTES))
            data = handle.read(STDERR_TAIL_BYTES)
    except OSError:
        return None
    return {"size": size, "text": data.decode("utf-8", "replace"), "cut": size > len(data)}


def result_view(result: AttemptResult) -> dict[str, Any]:
    value: dict[str, Any] = clip(to_builtins(result))
    value.setdefault("attempt_id", result.case_id)
    return value


def clip(value: Any) -> Any:
    """Strings past MAX_STRING_CHARS cut (the run directory keeps them whole)."""
    if isinstance(value, str):
        if len(value) <= MAX_STRING_CHARS:
            return value
        return value[:MAX_STRING_CHARS] + f"… [{len(value) - MAX_STRING_CHARS} characters cut]"
    if isinstance(value, list):
        return [clip(item) for item in value]
    if isinstance(value, dict):
        return {key: clip(item) for key, item in value.items()}
    return value
