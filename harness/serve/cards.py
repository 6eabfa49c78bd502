"""What the server keeps of each run it has looked at: run.json (re-read when it changes), the
incremental tally, and the run's card: the one-line view the runs list and every page show.

A run counts as running until its summary.json exists. Kept for the most recently used runs
only, so memory follows how many runs people look at, not how big they are.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import msgspec

from harness.serve.index import RUN_FILE, RunRef
from harness.serve.tally import RunTally

SUMMARY_FILE = "summary.json"
RESULTS_FILE = "results.jsonl"
TRACE_FILE = "run.jsonl"
KEEP_RUNS = 32


class Gate(msgspec.Struct):
    """The gate's verdict as summary.json's `regression` holds it (its per-case rows skipped)."""

    passed: bool | None = None
    baseline: str | None = None
    checks: list[dict[str, Any]] = []
    paired_test: dict[str, Any] | None = None


class _Tail(msgspec.Struct):
    regression: Gate | None = None


# summary.json's keys after `cases` (one row per attempt: megabytes in a big sweep) are the gate,
# the policy and the sweep's per-cell table: read from the end, never the whole file.
_GATE_KEY = re.compile(rb'"regression"\s*:')
TAIL_START_BYTES = 256 * 1024
TAIL_MAX_BYTES = 16 * 1024 * 1024


def read_gate(path: Path, first_bytes: int = TAIL_START_BYTES) -> Gate | None:
    """summary.json's gate, from the smallest tail of the file that starts at its top-level
    `regression` key. `{` + that tail is a whole JSON object only when the key found is the
    top-level one (a nested one leaves a brace unmatched), so a match that fails to decode is
    a nested key and the search goes on leftwards."""
    try:
        size = os.stat(path).st_size
        with open(path, "rb") as handle:
            span = first_bytes
            while True:
                start = max(0, size - span)
                handle.seek(start)
                tail = handle.read(size - start)
                for match in reversed(list(_GATE_KEY.finditer(tail))):
                    try:
                        return msgspec.json.decode(
                            b"{" + tail[match.start() :], type=_Tail
                        ).regression
                    except msgspec.DecodeError:
                        continue
                if start == 0 or span >= TAIL_MAX_BYTES:
                    return None
                span *= 4
    except OSError:
        return None


class Run:
    """One run directory as the server reads it."""

    def __init__(self, ref: RunRef) -> None:
        self.ref = ref
        self.path = ref.path
        self.tally = RunTally(ref.path / RESULTS_FILE)
        self._document: tuple[int, dict[str, Any]] = (-1, {})
        self._gate: tuple[int, Gate | None] = (-1, None)
        self._lock = threading.Lock()

    @property
    def results_path(self) -> Path:
        return self.path / RESULTS_FILE

    @property
    def live(self) -> bool:
        return not os.path.exists(self.path / SUMMARY_FILE)

    def document(self) -> dict[str, Any]:
        """run.json, read again only when it changed (it is rewritten whole as the run ends)."""
        path = self.path / RUN_FILE
        try:
            mtime = os.stat(path).st_mtime_ns
        except OSError:
            return self._document[1]
        with self._lock:
            if self._document[0] != mtime:
                try:
                    value = msgspec.json.decode(path.read_bytes())
                except (OSError, msgspec.DecodeError):
                    value = {}
                self._document = (mtime, value if isinstance(value, dict) else {})
            return self._document[1]

    def gate(self) -> Gate | None:
        """The gate's verdict from summary.json, read again only when the file changes."""
        path = self.path / SUMMARY_FILE
        try:
            mtime = os.stat(path).st_mtime_ns
        except OSError:
            return None
        with self._lock:
            if self._gate[0] != mtime:
                self._gate = (mtime, read_gate(path))
            return self._gate[1]

    def models(self) -> list[str]:
        """The run's models in its plan's order, then any only its results name."""
        planned = [m for m in self.document().get("models") or [] if isinstance(m, str)]
        return planned + [m for m in self.tally.feed().models if m not in planned]

    def _idle_seconds(self) -> float | None:
        """Seconds since the run last wrote a result or run.json: a run killed outright never
        writes its summary, so it looks like it is running, but idle for hours."""
        stamps = []
        for name in (RESULTS_FILE, RUN_FILE):
            try:
                stamps.append(os.stat(self.path / name).st_mtime)
            except OSError:
                continue
        return max(0.0, time.time() - max(stamps)) if stamps else None

    @property
    def trials(self) -> int:
        runs = self.document().get("runs")
        return runs if isinstance(runs, int) and runs > 0 else 1

    def card(self) -> dict[str, Any]:
        doc = self.document()
        tally = self.tally.feed()
        live = self.live
        models = self.models()
        return {
            "run_id": self.ref.run_id,
            "suite": self.ref.suite,
            "status": "running" if live else _status(doc),
            "live": live,
            "started_at": doc.get("started_at"),
            "finished_at": doc.get("finished_at"),
            "wall_seconds": _wall_seconds(doc, live),
            "idle_seconds": self._idle_seconds() if live else None,
            "mode": doc.get("mode"),
            "models": models,
            "trials": self.trials,
            "attempts_planned": doc.get("attempts_planned"),
            "attempts": tally.attempts,
            "passed": tally.passed,
            "lost": tally.lost,
            "pass_rate": tally.pass_rate,
            "cost_usd": tally.cost_usd if tally.costed else None,
            "flaky_cells": tally.flaky_cells,
            "exit_code": doc.get("exit_code"),
            "reason_code": doc.get("reason_code"),
            "git_sha": doc.get("git_sha"),
            "baseline": doc.get("baseline"),
        }


def _status(doc: dict[str, Any]) -> str:
    status, code = doc.get("status"), doc.get("exit_code")
    if status == "interrupted" or code == 130:
        return "interrupted"
    if status == "error" or code in (2, 3):
        return "error"
    if code == 0:
        return "passed"
    return "failed" if code is not None else "unknown"


def _wall_seconds(doc: dict[str, Any], live: bool) -> float | None:
    started = _parse_time(doc.get("started_at"))
    if started is None:
        return None
    ended = dt.datetime.now(dt.UTC) if live else _parse_time(doc.get("finished_at"))
    return None if ended is None else max(0.0, (ended - started).total_seconds())


def _parse_time(text: Any) -> dt.datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class Runs:
    """`Run`s by id for the most recently used `keep` runs."""

    def __init__(self, keep: int = KEEP_RUNS) -> None:
        self.keep = keep
        self._runs: OrderedDict[str, Run] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, ref: RunRef) -> Run:
        with self._lock:
            run = self._runs.get(ref.run_id)
            if run is None or run.path != ref.path:
                run = self._runs[ref.run_id] = Run(ref)
            self._runs.move_to_end(ref.run_id)
            while len(self._runs) > self.keep:
                self._runs.popitem(last=False)
            return run
