"""Grade later: run the current config's graders over a stored run (`harness grade RUN_DIR`).

The run's files are read, never written: the new results, summary and JUnit go to
`RUN_DIR/grades/<grade_id>/`. Failures that grading did not produce (a crash, a budget, a
cassette miss) are kept as they were; grading's own are replaced.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from harness.cassette.modes import redact_result
from harness.cassette.redact import Redactor
from harness.config.schema import Case, Suite
from harness.errors import UsageError
from harness.excerpts import redacting
from harness.execute.finish import RunEnd, decide
from harness.grading.engine import (
    GRADER_ERROR,
    GRADING_FAILURES,
    GradeOptions,
    grade_case,
)
from harness.grading.options import check_grade_options, grading_header
from harness.kinds import FailureKind, Outcome, infra_failure, outcome_of, status_of
from harness.plan.load import load_suite
from harness.reports.junit import render_junit
from harness.reports.rebuild import load_run
from harness.reports.run_data import RunData, attempt_key
from harness.reports.summary import SummaryGrading, build_summary
from harness.results import (
    INFRA_ERROR,
    PASS,
    UNGRADED,
    AttemptResult,
    Failure,
)
from harness.storage.runs import RunDirectory, new_run_id, to_builtins

NOT_KEPT = (
    "the run did not keep its workspaces; run with --workspace DIR or --skip-grade to grade "
    "workspace graders later"
)


@dataclass
class RegradeReport:
    grade_dir: Path
    exit_code: int
    reason: str
    results: list[AttemptResult]
    summary: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.status == PASS)


async def regrade_run(
    run_dir: Path,
    *,
    options: GradeOptions,
    suite_path: Path | None = None,
    plugins: Sequence[str] = (),
    allow_ineffective: bool = False,
) -> RegradeReport:
    """Grade every stored attempt of `run_dir` with the suite's current graders."""
    data = load_run(run_dir)
    recorded = data.run.get("grading") or {}
    check_grade_options(options, [*recorded.get("grader_plugins", []), *plugins])
    source = suite_path or data.run.get("suite_path")
    if not source:
        raise UsageError(f"{run_dir}: run.json names no suite; pass --suite PATH")
    suite = load_suite(source, allow_ineffective=allow_ineffective)
    cases = {case.id: case for case in suite.cases}
    traces = data.traces()
    warnings: list[str] = []
    results = []
    # Kept workspaces hold what the agent wrote, unredacted: evidence quoting them is
    # redacted before it is cut, and every result before it is written, as in a run.
    redactor = Redactor(suite.redact, os.environ)
    with redacting(redactor.text):
        for result in data.results:
            case = cases.get(result.case_id)
            events = traces.get(attempt_key(result))
            if case is None:
                warnings.append(f"{attempt_key(result)}: case no longer in the suite; kept as is")
                results.append(result)
            elif not events:
                warnings.append(f"{attempt_key(result)}: no transcript in the run; kept as is")
                results.append(result)
            else:
                graded = await _regrade(result, case, events, options)
                results.append(redact_result(redactor, graded))
    return _write(run_dir, data.run, suite, results, options, plugins, warnings)


async def _regrade(
    result: AttemptResult, case: Case, events: list[dict[str, Any]], options: GradeOptions
) -> AttemptResult:
    workspace = Path(result.workspace) if result.workspace else None
    note = None
    if workspace is not None and not workspace.is_dir():
        workspace, note = None, f"kept workspace {result.workspace} is gone"
    elif workspace is None and case.workspace is not None:
        note = NOT_KEPT
    graded = await grade_case(
        case, events, options=options, workspace=workspace, workspace_note=note
    )
    kept = [f for f in result.failures if f.type not in GRADING_FAILURES]
    failures = kept + (graded.failures if graded is not None else [])
    return msgspec.structs.replace(
        result,
        status=status_of(failures),
        failures=failures,
        outcome=_outcome(failures, result.outcome),
        assertions_total=len(case.assertions),
        assertions_failed=sum(1 for f in failures if f.type == FailureKind.ASSERTION_FAILED),
        score=graded.decision.score if graded is not None else None,
        threshold=graded.decision.threshold if graded is not None else None,
        verdicts=graded.verdicts if graded is not None else [],
    )


def _outcome(failures: Sequence[Failure], before: str) -> Outcome:
    """The attempt's outcome once graded again: an attempt the machinery lost stays lost,
    whatever its graders say now."""
    if failures and before == INFRA_ERROR:
        return INFRA_ERROR
    return outcome_of(failures, infra_failure(failures))


def _write(
    run_dir: Path,
    run: dict[str, Any],
    suite: Suite,
    results: list[AttemptResult],
    options: GradeOptions,
    plugins: Sequence[str],
    warnings: list[str],
) -> RegradeReport:
    # A result still ungraded (its case or transcript is gone) counts as not passed here.
    end = RunEnd(
        grader_error=any(f.type == GRADER_ERROR for r in results for f in r.failures),
        passed=sum(1 for r in results if r.status == PASS),
        total=len(results),
    )
    exit_code, _, reason = decide(end)
    grade_id = new_run_id()
    folder = RunDirectory(run_dir / "grades" / grade_id)
    run_id = str(run.get("run_id", run_dir.name))
    header = SummaryGrading(
        grade_id=grade_id,
        run_id=run_id,
        run_dir=str(run_dir),
        suite_path=str(suite.dir),
        suite_config_hash=suite.config_hash,
        graded_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        exit_code=exit_code,
        reason_code=reason,
        grading=grading_header(options, plugins),
        warnings=warnings,
    )
    mode = str(run.get("mode", "replay"))
    summary = build_summary(suite, results, run_id=run_id, mode=mode)
    summary = msgspec.structs.replace(summary, grading=header)
    try:
        for result in results:
            folder.append_result(result)
    finally:
        folder.close()
    folder.write_json("summary.json", summary)
    folder.write_json("grade.json", header)
    regraded_run = {**run, "run_id": run_id, "exit_code": exit_code}
    data = RunData(folder.root, regraded_run, to_builtins(summary), results)
    folder.write_bytes("junit.xml", render_junit(data))
    ungraded = [r for r in results if r.status == UNGRADED]
    if ungraded:
        warnings.append(f"{len(ungraded)} attempt(s) still ungraded")
    # The summary as written, but for the warning just added (`warnings` is its list too).
    return RegradeReport(folder.root, exit_code, reason, results, to_builtins(summary), warnings)
