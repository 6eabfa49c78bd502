"""Baselines: RunLedger's format (a promoted summary.json) read, written, promoted and matched.

A baseline row is keyed by case id + model + trial (model and trial may be None: RunLedger's
baselines and single-trial runs have neither), so sweeps compare like with like.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import msgspec

from harness.config.files import read_regular
from harness.errors import ConfigError, UsageError
from harness.storage.atomic import atomic_write

# Statuses RunLedger's summary schema allows, plus ours.
STATUSES = frozenset({"pass", "fail", "error", "skipped"})


class CaseRow(msgspec.Struct, frozen=True):
    """One row of `summary.json`'s `cases`: what a gate compares. Extra keys are ignored."""

    id: str
    status: str
    model: str | None = None
    trial: int | None = None
    wall_ms: float | None = None
    tool_calls: float | None = None
    tool_errors: float | None = None
    tokens_in: float | None = None
    tokens_out: float | None = None
    cost_usd: float | None = None
    steps: float | None = None
    failure_reason: str | None = None
    flaky: bool = False

    @property
    def unit(self) -> tuple[str, str | None]:
        """What trials are repetitions of: the case on one model."""
        return (self.id, self.model)

    @property
    def passed(self) -> bool:
        return self.status == "pass"


class Baseline(msgspec.Struct, frozen=True):  # a Struct: cheaper to define than a dataclass
    """A loaded baseline: where it came from, its suite, and its rows."""

    path: Path
    suite: str
    run_id: str | None
    schema_version: Any
    rows: tuple[CaseRow, ...]


def load_baseline(path: Path) -> Baseline:
    """Read and check a baseline file; every problem is a one-line ConfigError (exit 2)."""
    shown = str(path)
    try:
        data = read_regular(path)
    except FileNotFoundError:
        raise ConfigError(
            shown, "baseline not found; create one with --export-baseline or `baseline promote`"
        ) from None
    except OSError as exc:
        raise ConfigError(shown, f"cannot read the baseline: {exc.strerror or exc}") from None
    try:
        value = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise ConfigError(shown, f"not valid JSON: {exc}; is this a summary.json?") from None
    except UnicodeDecodeError as exc:  # msgspec raises it, not DecodeError, for non-UTF-8
        raise ConfigError(
            shown, f"not UTF-8 (byte {exc.start + 1}); is this a summary.json?"
        ) from None
    except RecursionError:
        raise ConfigError(shown, "JSON nested too deeply; is this a summary.json?") from None
    return baseline_from_value(value, path)


def baseline_from_value(value: Any, path: Path) -> Baseline:
    shown = str(path)
    if not isinstance(value, dict):
        raise ConfigError(shown, "expected a JSON object (a promoted summary.json)")
    for key in ("schema_version", "suite", "cases"):
        if key not in value:
            raise ConfigError(shown, "missing required key; is this a summary.json?", field=key)
    suite = value["suite"]
    if not isinstance(suite, dict) or not isinstance(suite.get("name"), str):
        raise ConfigError(shown, "expected an object with a string `name`", field="suite")
    cases = value["cases"]
    if not isinstance(cases, list):
        raise ConfigError(shown, "expected a list of case rows", field="cases")
    rows = []
    for index, row in enumerate(cases):
        try:
            parsed = msgspec.convert(row, CaseRow)
        except msgspec.ValidationError as exc:
            message, _, at = str(exc).partition(" - at `$")
            field = f"cases[{index}]{at.rstrip('`')}"
            raise ConfigError(shown, message[:1].lower() + message[1:], field=field) from None
        if parsed.status not in STATUSES:
            message = f"unknown status {parsed.status!r}; valid: {', '.join(sorted(STATUSES))}"
            raise ConfigError(shown, message, field=f"cases[{index}].status")
        rows.append(parsed)
    keys = [(row.id, row.model, row.trial) for row in rows]
    if len(set(keys)) != len(keys):
        duplicate = next(key for key in keys if keys.count(key) > 1)
        raise ConfigError(shown, f"duplicate case row {duplicate}", field="cases")
    run = value.get("run")
    run = run if isinstance(run, dict) else {}
    return Baseline(
        path=path,
        suite=suite["name"],
        run_id=run.get("run_id"),
        schema_version=value["schema_version"],
        rows=tuple(rows),
    )


def rows_of(summary: dict[str, Any]) -> list[CaseRow]:
    """The case rows of a summary.json this harness wrote."""
    return [msgspec.convert(row, CaseRow) for row in summary.get("cases", [])]


def baseline_document(summary: dict[str, Any]) -> dict[str, Any]:
    """A summary made into a baseline, as RunLedger's promote does: the gate's verdict removed,
    `exit_status` recomputed from the counts, cases sorted, so promoting twice is a no-op."""
    document = copy.deepcopy(summary)
    document.pop("regression", None)
    aggregates = document.get("aggregates", {})
    failing = aggregates.get("cases_fail", 0) + aggregates.get("cases_error", 0)
    run = document.setdefault("run", {})
    run["exit_status"] = "failed" if failing else "success"
    document["cases"] = sorted(
        document.get("cases", []),
        key=lambda row: (row.get("id", ""), row.get("model") or "", row.get("trial") or 0),
    )
    return document


def write_baseline(path: Path, summary: dict[str, Any]) -> Path:
    """Write `summary` as a baseline: sorted keys, indent 2, atomically."""
    document = baseline_document(summary)
    data = msgspec.json.format(msgspec.json.encode(document, order="sorted"), indent=2)
    atomic_write(path, data + b"\n")
    return path


def failing_ids(rows: Iterable[CaseRow]) -> list[str]:
    return sorted({row.id for row in rows if not row.passed and row.status != "skipped"})


def check_same_suite(baseline: Baseline, suite_name: str) -> None:
    """A baseline of another suite compares nothing; say so instead of diffing."""
    if baseline.suite != suite_name:
        raise UsageError(
            f"{baseline.path}: baseline of suite {baseline.suite!r}, but the run is of suite "
            f"{suite_name!r}; compare runs of the same suite"
        )


def index_rows(rows: Sequence[CaseRow]) -> dict[tuple[str, str | None], list[CaseRow]]:
    """Rows grouped by (case id, model), trials in order."""
    units: dict[tuple[str, str | None], list[CaseRow]] = {}
    for row in rows:
        units.setdefault(row.unit, []).append(row)
    for trials in units.values():
        trials.sort(key=lambda row: row.trial if row.trial is not None else -1)
    return units
