"""The gate's options from `harness run`'s and `harness ci`'s flags (harness.cli.flags), and the
gate's console lines.

Imported when the CLI starts: pathlib only, the rest inside functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.api import GateOptions


def gate_options(
    *,
    baseline: Path | None,
    export_baseline: Path | None,
    db: str,
    incremental: bool,
    no_cache: bool,
    rerun_failures: int,
    quarantine_flaky: bool,
    reports: dict[str, Path] | None = None,
) -> GateOptions:
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from harness.api import GateOptions

    return GateOptions(
        baseline=baseline,
        export_baseline=export_baseline,
        db=db or None,
        incremental=incremental,
        no_cache=no_cache,
        rerun_failures=rerun_failures,
        quarantine_flaky=quarantine_flaky,
        reports=reports or {},
    )


def print_gate(summary: dict[str, Any]) -> None:
    """The gate's verdict on the console: failed checks and every case that is not a plain pass,
    each with what it was in the baseline and what it is now."""
    # lazy: only commands that print a gate pay for these (`harness --help` stays fast)
    from harness.cli.console import echo

    gate = summary.get("regression")
    if not isinstance(gate, dict):
        return
    baseline = (gate.get("baseline") or {}).get("path")
    noted = [unit for unit in gate.get("cases", []) if unit.get("verdict") != "pass"]
    failed_checks = [check for check in gate.get("checks", []) if not check.get("passed")]
    if not baseline and not noted and not failed_checks and not gate.get("checks"):
        return
    if baseline:
        title = f"Regression gate against {baseline}"
    else:
        title = "Gate (no baseline: every case must pass; --baseline FILE compares with one)"
    echo(f"{title}: {'passed' if gate.get('passed') else 'FAILED'}")
    for check in gate.get("checks", []):
        mark = "ok  " if check.get("passed") else "FAIL"
        extra = f" ({check['message']})" if check.get("message") else ""
        value, limit = _num(check.get("value")), _num(check.get("limit"))
        echo(f"  {mark} {check['name']}: {value} (limit {limit}){extra}")
    order = {True: 0, False: 1}
    for unit in sorted(noted, key=lambda u: (order[bool(u.get("gating"))], u["case_id"])):
        echo(_unit_line(unit, has_baseline=bool(baseline)))


def _unit_line(unit: dict[str, Any], *, has_baseline: bool) -> str:
    """`FAIL bravo: regressed (baseline: pass, now: fail): assertion_failed`."""
    model = f" [{unit['model']}]" if unit.get("model") else ""
    now = f"now: {unit['current']}"
    if unit.get("baseline"):
        states = f"baseline: {unit['baseline']}, {now}"
    elif has_baseline:
        states = f"{now}; not in the baseline, promote a new one to gate it"
    else:
        states = f"{now}; no baseline"
    why = f": {unit['detail']}" if unit.get("detail") else ""
    mark = "FAIL" if unit.get("gating") else "note"
    return f"  {mark} {unit['case_id']}{model}: {unit['verdict']} ({states}){why}"


def _num(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)
