"""summary.json as it is read back (`harness diff`, `baseline promote`, `harness report`):
typed, so a damaged file is one error naming the file and the field (exit 2), never a
traceback in whatever reads the field later.

The types are the writers' where there is one (the gate's `Check` and `UnitVerdict`, a
baseline's `CaseRow`); keys a reader never looks at are not checked, and a RunLedger summary
without harness's keys still reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from harness.config.files import read_regular
from harness.config.schema import Regression
from harness.errors import ConfigError, UsageError
from harness.gate.baseline import CaseRow, failing_ids, rows_of, write_baseline
from harness.gate.checks import Check
from harness.gate.units import UnitVerdict

DAMAGED = "the file is damaged; run again, or restore it from the run's artifacts"


class SuiteRef(msgspec.Struct, frozen=True):
    name: str | None = None


class RunRef(msgspec.Struct, frozen=True):
    run_id: str | None = None
    git_sha: str | None = None


class BaselineRef(msgspec.Struct, frozen=True):
    path: str | None = None
    run_id: str | None = None


class Aggregates(msgspec.Struct, frozen=True):
    cases_total: int = 0
    cases_pass: int = 0
    cases_fail: int = 0
    cases_error: int = 0
    pass_rate: float | None = None


class StoredGate(msgspec.Struct, frozen=True):
    """`regression`: the gate's verdict as the reports show it."""

    passed: bool = False
    baseline: BaselineRef | None = None
    baseline_aggregates: Aggregates | None = None
    checks: list[Check] = []
    cases: list[UnitVerdict] = []


class PolicySnapshot(msgspec.Struct, frozen=True):
    """The gate settings a run was judged with (RunLedger's policy_snapshot)."""

    quarantine: list[str] = []
    regression: Regression | None = None


class StoredSummary(msgspec.Struct, frozen=True):
    suite: SuiteRef = SuiteRef()
    run: RunRef = RunRef()
    generated_at: str | None = None
    aggregates: Aggregates | None = None
    cases: list[CaseRow] = []
    regression: StoredGate | None = None
    policy_snapshot: PolicySnapshot | None = None


def check_summary(value: Any, path: Path) -> StoredSummary:
    """`value`, summary.json's JSON, checked field by field.

    Raises:
        ConfigError: `path: field: what is wrong; the file is damaged ...` (exit 2).
    """
    summary: StoredSummary = convert_stored(value, StoredSummary, path)
    return summary


def convert_stored(value: Any, kind: type[Any], path: Path) -> Any:
    """`value` as `kind`, or a ConfigError naming `path` and the field (msgspec's `$.path`)."""
    if not isinstance(value, dict):
        raise ConfigError(str(path), f"expected a JSON object; {DAMAGED}")
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError as exc:
        message, _, at = str(exc).partition(" - at `$")
        field = at.rstrip("`").lstrip(".") or None
        raise ConfigError(
            str(path), f"{message[:1].lower()}{message[1:]}; {DAMAGED}", field=field
        ) from None


def read_summary(run: Path) -> tuple[dict[str, Any], Path]:
    """The summary.json of a run directory (or the file itself), with its path."""
    path = run / "summary.json" if run.is_dir() else run
    try:
        value = msgspec.json.decode(read_regular(path))
    except FileNotFoundError:
        raise UsageError(f"{path}: not found; pass a run directory or its summary.json") from None
    except (OSError, msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise UsageError(f"{path}: cannot read the run summary: {exc}") from None
    if not isinstance(value, dict) or "cases" not in value:
        raise UsageError(f"{path}: not a harness or RunLedger summary.json")
    check_summary(value, path)
    return value, path


def promote(run: Path, to: Path, *, allow_failing: bool = False) -> tuple[Path, dict[str, Any]]:
    """Write the run's summary as the baseline `to`; a failing run needs `allow_failing`."""
    summary, path = read_summary(run)
    failing = failing_ids(rows_of(summary))
    if failing and not allow_failing:
        shown = ", ".join(failing[:10]) + (" ..." if len(failing) > 10 else "")
        raise UsageError(
            f"{path}: {len(failing)} case(s) did not pass ({shown}); a baseline should be a "
            "known-good run: fix them, or promote anyway with --allow-failing"
        )
    return write_baseline(to, summary), summary
