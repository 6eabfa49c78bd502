"""What every report renders, read back from a run directory alone (`harness report RUN_DIR`).

A fresh run builds the same `RunData` in memory; so a report rebuilt later is byte-for-byte the
report the run wrote (timestamps come from the run, never from the clock).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from harness.aggregate.result_index import ResultIndex
from harness.config.files import read_regular
from harness.reports.stored import StoredEvent
from harness.results import AttemptResult
from harness.storage.runs import iter_results, safe_name

HISTORY_FILE = "history.json"  # the trend at the end of the run, for the HTML chart


@dataclass
class RunData:
    """A finished run as the reports see it.

    A run that just finished passes no results but its `index`: JUnit then streams them from
    results.jsonl in its order, and `results` reads them all only when a report needs them all
    (SARIF, Markdown, HTML). Its `summary` has no `cases` rows (no report reads them).
    """

    run_dir: Path
    run: dict[str, Any]  # run.json
    summary: dict[str, Any]  # summary.json, with `regression` when gated
    _results: list[AttemptResult] | None = None  # None: read from run_dir on first use
    history: list[dict[str, Any]] = field(default_factory=list)
    _traces: dict[str, list[dict[str, Any]]] | None = None
    index: ResultIndex | None = None
    _verdicts: dict[tuple[str, str | None], dict[str, Any]] | None = None

    @property
    def results(self) -> list[AttemptResult]:
        """Every result, in the order the attempts finished."""
        if self._results is None:
            self._results = list(iter_results(self.run_dir / "results.jsonl", missing_ok=True))
        return self._results

    def junit_results(self) -> Iterator[AttemptResult]:
        """The results in junit.xml's order: by model, then attempt id."""
        if self._results is None and self.index is not None:
            return self.index.read(self.index.junit_offsets())
        return iter(sorted(self.results, key=lambda r: (r.model or "", r.attempt_id or r.case_id)))

    @property
    def suite(self) -> str:
        return str(self.run.get("suite") or self.summary.get("suite", {}).get("name", ""))

    @property
    def run_id(self) -> str:
        return str(self.run.get("run_id") or self.summary.get("run", {}).get("run_id", ""))

    @property
    def gate(self) -> dict[str, Any] | None:
        gate = self.summary.get("regression")
        return gate if isinstance(gate, dict) else None

    @property
    def exit_code(self) -> int | None:
        code = self.run.get("exit_code")
        return code if isinstance(code, int) else None

    @property
    def timestamp(self) -> str:
        return str(self.run.get("started_at") or self.summary.get("generated_at") or "")

    def verdicts(self) -> dict[tuple[str, str | None], dict[str, Any]]:
        """(case id, model) -> the gate's verdict on it (built once: reports ask per attempt)."""
        if self._verdicts is None:
            units = (self.gate or {}).get("cases") or []
            self._verdicts = {(unit["case_id"], unit.get("model")): unit for unit in units}
        return self._verdicts

    def verdict_of(self, result: AttemptResult) -> dict[str, Any] | None:
        return self.verdicts().get((result.case_id, result.model))

    def source_of(self, case_id: str) -> tuple[str, int] | None:
        """Where the case is defined (file, line), when the run recorded it."""
        source = (self.run.get("case_sources") or {}).get(case_id)
        if isinstance(source, list) and len(source) == 2:
            return str(source[0]), int(source[1])
        return None

    def traces(self) -> dict[str, list[dict[str, Any]]]:
        """Trace events by attempt id: a sweep's per-attempt transcript.jsonl when there is
        one (run.jsonl names only the case), else run.jsonl's events grouped by case id."""
        if self._traces is None:
            self._traces = {}
            for event in _read_lines(self.run_dir / "run.jsonl"):
                key = str(event.get("attempt_id") or event.get("case_id") or "")
                self._traces.setdefault(key, []).append(event)
            for result in self.results:
                if result.model is None and result.trial is None:
                    continue
                folder = self.run_dir / "attempts" / safe_name(result.case_id)
                if result.model is not None:
                    folder /= safe_name(result.model)
                if result.trial is not None:
                    folder /= f"trial-{result.trial}"
                events = _read_lines(folder / "transcript.jsonl")
                if events:
                    self._traces[attempt_key(result)] = events
        return self._traces


def _read_lines(path: Path) -> list[dict[str, Any]]:
    """Trace events, one a line; a torn last line (a killed run), or a line that is not an
    event (damaged: see harness.reports.stored), is skipped, as results.jsonl's are."""
    try:
        raw = read_regular(path)
    except OSError:
        return []
    events = []
    for line in raw.split(b"\n"):
        if not line.strip():
            continue
        try:
            event = msgspec.json.decode(line)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            continue
        try:
            msgspec.convert(event, StoredEvent)
        except msgspec.ValidationError:
            continue
        events.append(event)
    return events


def attempt_key(result: AttemptResult) -> str:
    return result.attempt_id or result.case_id
