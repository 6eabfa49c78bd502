"""Assay baselines: `--export-baseline` writes one entry per test and metric; `--baseline`
compares against one when `settings.thresholding.mode` is `relative` (as Assay does).

Honest differences: a missing baseline entry makes a passing test `warn` and leaves a failing
test failing (Assay's warn overwrites the fail, then becomes a pass); warns stay warns.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import msgspec

from harness._version import __version__
from harness.assay.config import AssayConfig
from harness.config.files import read_regular
from harness.config.yaml_source import display_path
from harness.errors import ConfigError
from harness.storage.atomic import atomic_write

EPSILON = 1e-9


class BaselineError(ConfigError):
    """The baseline cannot be used (Assay: E_BASELINE_INVALID, exit 2)."""


def config_fingerprint(config: AssayConfig) -> str:
    return "md5:" + hashlib.md5(config.raw, usedforsecurity=False).hexdigest()


def export_baseline(path: Path, config: AssayConfig, rows: list[dict[str, Any]]) -> None:
    entries = []
    for row in rows:
        for metric, data in (row["details"].get("metrics") or {}).items():
            if isinstance(data.get("score"), int | float):
                entry = {"test_id": row["test_id"], "metric": metric, "score": data["score"]}
                entry["meta"] = {"exercised": data.get("exercised", "exercised")}
                entries.append(entry)
    document = {
        "schema_version": 1,
        "suite": config.suite,
        "assay_version": f"harness {__version__}",
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "config_fingerprint": config_fingerprint(config),
        "entries": sorted(entries, key=lambda e: (e["test_id"], e["metric"])),
    }
    atomic_write(path, msgspec.json.format(msgspec.json.encode(document), indent=2) + b"\n")


def load_baseline(path: Path, config: AssayConfig) -> tuple[dict[tuple[str, str], Any], list[str]]:
    shown = display_path(path)
    try:
        document = msgspec.json.decode(read_regular(path))
    except OSError as exc:
        raise BaselineError(shown, f"cannot read the baseline: {exc.strerror or exc}") from None
    except msgspec.DecodeError as exc:
        raise BaselineError(shown, f"not JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("entries"), list):
        raise BaselineError(shown, "not a baseline: expected an object with `entries`")
    if document.get("suite") != config.suite:
        raise BaselineError(
            shown, f"baseline of suite {document.get('suite')!r}, not {config.suite!r}"
        )
    warnings = []
    if document.get("config_fingerprint") != config_fingerprint(config):
        warnings.append(f"{shown}: the config changed since this baseline was exported")
    entries = {}
    for entry in document["entries"]:
        if isinstance(entry, dict) and {"test_id", "metric", "score"} <= entry.keys():
            entries[(str(entry["test_id"]), str(entry["metric"]))] = entry
    return entries, warnings


def compare(
    rows: list[dict[str, Any]], baseline: dict[tuple[str, str], Any], config: AssayConfig
) -> None:
    """Relative thresholding, row by row, in place."""
    thresholding = config.settings.get("thresholding") or {}
    if thresholding.get("mode") != "relative":
        return
    max_drop = float(thresholding.get("max_drop") or 0.0)
    floor = thresholding.get("min_floor")
    overrides = _per_test_max_drop(config)
    for row in rows:
        if row["status"] in ("error", "allowed_on_error"):
            continue
        metrics = row["details"].get("metrics") or {}
        notes = [
            _check(
                row,
                name,
                data,
                baseline,
                overrides.get((row["test_id"], name), max_drop),
                floor,
            )
            for name, data in metrics.items()
        ]
        notes += _coverage(row, metrics, baseline)
        if any(notes):
            row["details"]["baseline"] = [note for note in notes if note]


def _per_test_max_drop(config: AssayConfig) -> dict[tuple[str, str], float]:
    """A semantic or judge check's own `thresholding.max_drop` overrides the settings' one."""
    overrides = {}
    for test in config.tests:
        own = getattr(test.expected, "thresholding", None)
        if isinstance(own, dict) and isinstance(own.get("max_drop"), int | float):
            overrides[(test.id, test.metric)] = float(own["max_drop"])
    return overrides


def _check(
    row: dict[str, Any],
    metric: str,
    data: dict[str, Any],
    baseline: dict[tuple[str, str], Any],
    max_drop: float,
    floor: Any,
) -> str | None:
    score = float(data.get("score") or 0.0)
    entry = baseline.get((row["test_id"], metric))
    if entry is None:
        note = f"missing baseline for {row['test_id']}/{metric}"
        if row["status"] == "pass":
            row["status"], row["message"] = "warn", note
        return note
    drop = float(entry["score"]) - score
    if drop > max_drop + EPSILON:
        note = f"regression: {metric} dropped from {float(entry['score']):.3f} to {score:.3f}"
        note += f" (max_drop {max_drop:g})"
        row["status"], row["message"] = "fail", note
        return note
    if isinstance(floor, int | float) and score + EPSILON < floor:
        note = f"regression: {metric} score {score:.3f} is below min_floor {floor:g}"
        row["status"], row["message"] = "fail", note
        return note
    return None


def _coverage(
    row: dict[str, Any], metrics: dict[str, Any], baseline: dict[tuple[str, str], Any]
) -> list[str]:
    notes = []
    for (test_id, metric), entry in baseline.items():
        exercised = (entry.get("meta") or {}).get("exercised") == "exercised"
        now = (metrics.get(metric) or {}).get("exercised")
        if test_id == row["test_id"] and exercised and now != "exercised":
            note = f"coverage regression: {metric} ran in the baseline but not now"
            if row["status"] == "pass":
                row["status"], row["message"] = "warn", note
            notes.append(note)
    return notes
