"""A RunData as the reports read it, made up from results and the gate's case rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.kinds import Status
from harness.reports.run_data import RunData
from harness.results import AttemptResult, Failure


def run_data(
    results: list[AttemptResult], units: list[dict[str, Any]] | None = None, **gate: Any
) -> RunData:
    run = {
        "run_id": "20240101-000000-abcdef", "suite": "s", "exit_code": 1,
        "started_at": "2024-01-01T00:00:00Z", "suite_file": "/src/suite.yaml",
        "case_sources": {r.case_id: ["/src/cases/" + r.case_id + ".yaml", 3] for r in results},
    }  # fmt: skip
    summary: dict[str, Any] = {"suite": {"name": "s"}}
    if units is not None:
        summary["regression"] = {"passed": False, "cases": units, "checks": [], **gate}
    return RunData(Path("/nonexistent"), run, summary, results)


def failed_result(case_id: str, message: str = "boom", status: Status = "fail") -> AttemptResult:
    failure = Failure(type="assertion_failed", message=message, details={"assertion": "must_call"})
    return AttemptResult(case_id=case_id, attempt_id=case_id, status=status, wall_ms=1500,
                         failures=[failure], stderr_tail="err\x00tail")  # fmt: skip


def gate_unit(case_id: str, verdict: str, gating: bool = True) -> dict[str, Any]:
    return {"case_id": case_id, "model": None, "verdict": verdict, "gating": gating,
            "current": "fail", "baseline": "pass", "detail": "assertion_failed"}  # fmt: skip
