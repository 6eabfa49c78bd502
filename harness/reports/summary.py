"""summary.json with RunLedger's field names (so its baselines and tooling keep working)."""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from harness import __version__
from harness.config.schema import Suite
from harness.results import ERROR, FAIL, PASS, AttemptResult

SCHEMA_VERSION = 1
# RunLedger's baseline reader requires this field; we mark which schema we follow.
RUNLEDGER_SCHEMA = "0.2.3-compatible"
METRICS = ("wall_ms", "tool_calls", "tool_errors", "tokens_in", "tokens_out", "cost_usd", "steps")


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest rank, as RunLedger computes it: sorted[ceil(p*n) - 1]."""
    ordered = sorted(values)
    index = max(math.ceil(fraction * len(ordered)) - 1, 0)
    return ordered[index]


def metric_summary(values: Sequence[float | None]) -> dict[str, float | None]:
    present = [value for value in values if value is not None]
    if not present:
        return {"min": None, "p50": None, "p95": None, "mean": None, "max": None}
    return {
        "min": min(present),
        "p50": percentile(present, 0.5),
        "p95": percentile(present, 0.95),
        "mean": sum(present) / len(present),
        "max": max(present),
    }


def exit_status(results: Sequence[AttemptResult], *, interrupted: bool = False) -> str:
    if interrupted:
        return "error"
    return "success" if all(r.status == PASS for r in results) else "failed"


def build_summary(
    suite: Suite,
    results: Sequence[AttemptResult],
    *,
    run_id: str,
    mode: str,
    interrupted: bool = False,
    planned: int | None = None,
) -> dict[str, Any]:
    ordered = sorted(results, key=lambda r: (r.case_id, r.model or "", r.trial or 0))
    counts = {
        status: sum(1 for r in results if r.status == status) for status in (PASS, FAIL, ERROR)
    }
    total = len(results)
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "runledger_version": RUNLEDGER_SCHEMA,
        "harness_version": __version__,
        "run": {
            "run_id": run_id,
            "mode": mode,
            "exit_status": exit_status(results, interrupted=interrupted),
            "git_sha": os.environ.get("GITHUB_SHA"),
            "ci": {"provider": "github"} if os.environ.get("GITHUB_ACTIONS") == "true" else None,
            "interrupted": interrupted,
            "attempts_planned": planned if planned is not None else total,
        },
        "suite": {
            "name": suite.name,
            "suite_path": _display_path(suite.dir),
            "agent_command": list(suite.agent_command),
            "tool_mode": mode,
            "suite_config_hash": suite.config_hash,
            "cases_total": len(suite.cases),
        },
        "aggregates": {
            "cases_total": total,
            "cases_pass": counts[PASS],
            "cases_fail": counts[FAIL],
            "cases_error": counts[ERROR],
            "pass_rate": counts[PASS] / total if total else 0.0,
            "metrics": {
                name: metric_summary([getattr(r, name) for r in results]) for name in METRICS
            },
        },
        "cases": [case_row(result) for result in ordered],
    }


def case_row(result: AttemptResult) -> dict[str, Any]:
    failed_assertions = [
        {"type": (f.details or {}).get("assertion", f.type), "message": f.message}
        for f in result.failures
        if f.type == "assertion_failed"
    ]
    return {
        "id": result.case_id,
        "status": result.status,
        "wall_ms": result.wall_ms,
        "tool_calls": result.tool_calls,
        "tool_errors": result.tool_errors,
        "tokens_in": result.tokens_in,
        "tokens_out": result.tokens_out,
        "cost_usd": result.cost_usd,
        "steps": result.steps,
        "tool_calls_by_name": result.tool_calls_by_name,
        "tool_errors_by_name": result.tool_errors_by_name,
        "replay": {
            "cassette_path": _display_path(Path(result.cassette_path))
            if result.cassette_path
            else None,
            "cassette_sha256": result.cassette_sha256,
        },
        "assertions": {"total": result.assertions_total, "failed": result.assertions_failed},
        "failure_reason": result.failure_reason,
        "failed_assertions": failed_assertions or None,
        "failures": msgspec.to_builtins(result.failures),
        "exit_code": result.exit_code,
        "model": result.model,
        "trial": result.trial,
    }


def _display_path(path: Path) -> str:
    """Relative to the cwd when under it, so committed baselines carry no machine paths."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
