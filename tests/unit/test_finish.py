"""The end of a run (harness.execute.finish).

`decide`: every way a run can end, and the exit code, status and reason each gets.

`finish_run` reads results back from results.jsonl one at a time: what it writes equals what
the list-based code builds from the same results, and the memory it keeps does not grow with
the number of attempts (issue 4: a 10,000-attempt sweep). Results are made up and appended as
`run_suite` appends them (no agent runs), so thousands of attempts take a second.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.aggregate import streaming as running
from harness.aggregate.result_index import check_complete
from harness.aggregate.sweep import sweep_summary
from harness.api import GateOptions, RunEvents, RunReport
from harness.cassette.modes import Gateways, prepare_tooling
from harness.config.schema import Regression, Suite
from harness.errors import EXIT_CONFIG, EXIT_FAILED, EXIT_INFRA, EXIT_INTERRUPTED, EXIT_OK
from harness.execute.finish import Decision, RunEnd, decide, finish_run, gated, reason_of_exit
from harness.execute.folder import RunFolder, run_document
from harness.execute.prepare import prepare_gate
from harness.gate.baseline import Baseline, CaseRow, rows_of
from harness.gate.evaluate import GateReport, Policy, evaluate
from harness.kinds import Outcome
from harness.plan.build import Plan, build_plan
from harness.plan.load import load_suite
from harness.reports.junit import render_junit
from harness.reports.run_data import RunData
from harness.reports.summary import build_summary
from harness.results import AttemptResult, Failure
from harness.storage import runs as runs_module
from harness.storage.runs import new_run_id, read_results, to_builtins


def gate(spec: str, *, baseline: str = "", quarantine: tuple[str, ...] = ()) -> GateReport:
    """The gate's report on rows `"a:pass b:fail"`, against a baseline of such rows if given."""

    def rows(text: str) -> list[CaseRow]:
        return [CaseRow(id=item.split(":")[0], status=item.split(":")[1]) for item in text.split()]

    before = Baseline(Path("b.json"), "s", "r0", 1, tuple(rows(baseline))) if baseline else None
    return evaluate(rows(spec), before, Policy(quarantine=frozenset(quarantine)))


PASSED_2 = RunEnd(passed=2, total=2)
FAILED_1 = RunEnd(passed=1, total=2)
DECISIONS = [
    # what happened, the gate's report if it judged, (exit code, status, reason)
    ("interrupted", RunEnd(interrupted=True, error_exit=3, fail_fast=True), None,
     (EXIT_INTERRUPTED, "interrupted", "interrupted")),
    ("interrupted, gated", RunEnd(interrupted=True), gate("a:pass"),
     (EXIT_INTERRUPTED, "interrupted", "interrupted")),
    ("infrastructure error", RunEnd(error_exit=EXIT_INFRA, fail_fast=True, complete=False), None,
     (EXIT_INFRA, "error", "infrastructure_error")),
    ("config error found once tools started", RunEnd(error_exit=EXIT_CONFIG), None,
     (EXIT_CONFIG, "error", "infrastructure_error")),
    ("fail-fast", RunEnd(fail_fast=True, complete=False, passed=1, total=2), None,
     (EXIT_FAILED, "stopped", "fail_fast")),
    ("results incomplete", RunEnd(complete=False, passed=2, total=2), None,
     (EXIT_INFRA, "error", "results_incomplete")),
    ("grader error", RunEnd(grader_error=True, passed=1, total=2), None,
     (EXIT_INFRA, "finished", "grader_error")),
    ("grader error, gate passed", RunEnd(grader_error=True, passed=2, total=2), gate("a:pass"),
     (EXIT_INFRA, "finished", "grader_error")),
    ("a trial lost, the rest passed", RunEnd(passed=1, lost=1, total=2), None,
     (EXIT_INFRA, "finished", "trials_lost")),
    ("a trial lost, gate passed", RunEnd(passed=1, lost=1, total=2), gate("a:pass"),
     (EXIT_INFRA, "finished", "trials_lost")),
    ("a trial lost, another failed", RunEnd(passed=1, lost=1, total=3), None,
     (EXIT_FAILED, "finished", "cases_failed")),
    ("all passed", PASSED_2, None, (EXIT_OK, "finished", "all_passed")),
    ("nothing to count", RunEnd(), None, (EXIT_OK, "finished", "all_passed")),
    ("ungraded", RunEnd(passed=1, ungraded=1, total=2), None, (EXIT_OK, "finished", "ungraded")),
    ("cases failed", FAILED_1, None, (EXIT_FAILED, "finished", "cases_failed")),
    ("gated, passed", PASSED_2, gate("a:pass b:pass"), (EXIT_OK, "finished", "all_passed")),
    ("gated, failed", FAILED_1, gate("a:pass b:fail"), (EXIT_FAILED, "finished", "cases_failed")),
    ("gated, regressed", FAILED_1, gate("a:pass b:fail", baseline="a:pass b:pass"),
     (EXIT_FAILED, "finished", "regression")),
    ("gated, fixed", FAILED_1, gate("a:pass b:pass", baseline="a:pass b:fail"),
     (EXIT_OK, "finished", "all_passed")),
    ("quarantined-only failure", FAILED_1, gate("a:pass b:fail", quarantine=("b",)),
     (EXIT_OK, "finished", "all_passed")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("end", "report", "expected"),
    [pytest.param(end, report, expected, id=name) for name, end, report, expected in DECISIONS],
)
def test_decide(end: RunEnd, report: GateReport | None, expected: tuple[int, str, str]) -> None:
    assert decide(end, report) == Decision(*expected)


@pytest.mark.parametrize(
    ("end", "judged"),
    [
        (PASSED_2, True),
        (FAILED_1, True),
        (RunEnd(grader_error=True, passed=2, total=2), True),  # judged, but exit 3 stays
        (RunEnd(passed=1, ungraded=1, total=2), False),  # `harness grade` gates it, once graded
        (RunEnd(interrupted=True), False),
        (RunEnd(fail_fast=True), False),
        (RunEnd(error_exit=EXIT_INFRA), False),
        (RunEnd(complete=False), False),
    ],
)
def test_only_a_finished_run_with_every_attempt_graded_is_gated(end: RunEnd, judged: bool) -> None:
    assert gated(end) is judged


def test_an_exit_code_alone_names_its_reason() -> None:
    assert [reason_of_exit(code) for code in (0, 1, 2, 3, 130, 4)] == [
        "all_passed", "cases_failed", "config", "infrastructure_error", "interrupted",
        "infrastructure_error",
    ]  # fmt: skip


REGRESSION = {
    "min_pass_rate": 0.5,
    "max_p95_wall_ms_delta_pct": 0.5,
    "expected_failures": ["c0001"],
}


def make_suite(root: Path, cases: int) -> Suite:
    (root / "cases").mkdir(parents=True)
    settings: dict[str, Any] = {"suite_name": "streamed", "agent_command": ["sh", "a.sh"]}
    settings["mode"] = "replay"
    settings.update(cases_path="cases", tool_registry=[], regression=REGRESSION)
    (root / "suite.yaml").write_text(yaml.safe_dump(settings))
    for number in range(cases):
        case = {"id": f"c{number:04d}", "input": {"n": number}}
        (root / "cases" / f"c{number:04d}.yaml").write_text(yaml.safe_dump(case))
    return load_suite(root)


def made_up(attempt_id: str, case_id: str, model: str | None, trial: int | None) -> AttemptResult:
    """A result whose every field follows from its id: passes, failures, errors, budgets,
    lost trials, usage, re-runs."""
    h = int(hashlib.sha256(attempt_id.encode()).hexdigest(), 16)
    kind = h % 7
    failures = []
    if kind in (1, 2):
        failures = [
            Failure(type="assertion_failed", message=f"missing answer\nline {h % 5}",
                    expected=["answer"], observed={"got": h % 3}, details={"assertion": "x"})
        ]  # fmt: skip
    elif kind == 3:
        failures = [Failure(type="agent_exited", message="exit 3")]
    outcomes: dict[int, Outcome] = {0: "passed", 3: "infra_error", 4: "budget_exceeded"}
    outcome = outcomes.get(kind, "failed")
    if kind in (0, 5, 6):
        outcome = "passed"
    return AttemptResult(
        case_id=case_id,
        attempt_id=attempt_id,
        model=model,
        trial=trial,
        status="pass" if outcome == "passed" else ("error" if kind == 3 else "fail"),
        outcome=outcome,
        wall_ms=h % 200,
        failures=failures,
        tool_calls=h % 4,
        tokens_in=(h >> 8) % 500 if kind else None,
        tokens_out=(h >> 16) % 90,
        cost_usd=((h >> 24) % 1000) / 7000 if kind != 2 else None,
        steps=1 + h % 3,
        stderr_tail="tail \x00 of stderr" if kind == 3 else None,
        reruns=int(kind == 5),
        flaky=kind == 5,
        fingerprint=f"fp-{h % 97}",
    )


def results_of(plan: Plan) -> Iterator[AttemptResult]:
    for a in plan.attempts:
        yield made_up(a.attempt_id, a.case.id, a.model, a.trial)


def finish(
    tmp_path: Path, suite: Suite, plan: Plan, results: Iterator[AttemptResult]
) -> tuple[RunReport, int, int]:
    """Append `results` as run_suite does and finish the run. Returns the report, the bytes
    the run kept while appending, and the peak bytes `finish_run` added (tracemalloc)."""
    options = GateOptions(db=str(tmp_path / "history.db"))
    gate = prepare_gate(options, suite, plan.attempts)
    document = run_document(
        suite, plan, gate, run_id=new_run_id(), strict=False, workers=2, engine="local", grading={}
    )
    redact = Gateways(prepare_tooling(suite, all_cases=suite.cases, strict=False))
    started = tracemalloc.get_traced_memory()[0]
    folder = RunFolder.create(
        tmp_path / "out", document, suite=suite, plan=plan, events=RunEvents(), redact=redact
    )
    for result in results:
        folder.add(result)
    folder.close()
    kept = tracemalloc.get_traced_memory()[0] - started
    before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    report = finish_run(folder, gate, options)
    peak = tracemalloc.get_traced_memory()[1] - before
    return report, kept, peak


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("distinct_kept", [running.DISTINCT_KEPT, 3])
def test_streamed_artifacts_equal_the_list_based_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, distinct_kept: int
) -> None:
    # 3: percentiles read results.jsonl again instead of counting distinct values.
    monkeypatch.setattr(running, "DISTINCT_KEPT", distinct_kept)
    suite = make_suite(tmp_path / "suite", cases=12)
    plan = build_plan(suite, models=("m1", "org/m2"), runs=11)  # trials 10, 11 sort before 2
    report, _, _ = finish(tmp_path, suite, plan, results_of(plan))
    assert report.run_dir is not None
    root = report.run_dir
    results = read_results(root)
    summary = read_json(root / "summary.json")
    assert report.status == "finished" and summary["regression"]  # complete and gated

    expected = build_summary(
        suite, results, run_id=summary["run"]["run_id"], mode="replay", planned=len(plan)
    )
    by_key = {(r.case_id, r.model, r.trial): r for r in results}
    for row in expected.cases:  # the gate's per-attempt facts, as gating added them
        result = by_key[(row["id"], row["model"], row["trial"])]
        row.update(flaky=result.flaky, reruns=result.reruns, reused_from=result.reused_from)
        row["fingerprint"] = result.fingerprint
    assert summary["cases"] == json.loads(json.dumps(expected.cases))
    assert summary["aggregates"] == json.loads(json.dumps(expected.aggregates))
    assert summary["run"]["completeness"] == check_complete(plan, results).to_json()
    policy = Policy(suite.regression or Regression(), suite.quarantine)
    gate = evaluate(rows_of({"cases": expected.cases}), None, policy).to_json()
    assert summary["regression"] == json.loads(json.dumps(gate))
    assert summary["sweep"] == to_builtins(sweep_summary(plan, results))

    run = read_json(root / "run.json")
    listed = RunData(root, run, summary, results)  # a list: rendered whole
    assert (root / "junit.xml").read_bytes() == render_junit(listed)
    assert report.results == results and report.summary == summary
    assert report.passed == sum(r.status == "pass" for r in results) == run["passed"]

    db = sqlite3.connect(tmp_path / "history.db")
    stored = db.execute("SELECT attempt_id, status, fingerprint FROM results ORDER BY rowid")
    assert [row[:2] for row in stored] == [(r.attempt_id, r.status) for r in results]


def test_duplicates_and_unplanned_results_keep_their_places(tmp_path: Path) -> None:
    suite = make_suite(tmp_path / "suite", cases=3)
    plan = build_plan(suite, models=("m1",), runs=3)
    results = list(results_of(plan))
    again = made_up("c0001/m1/2", "c0001", "m1", 2)
    results[4:4] = [again, made_up("c0009/m1/1", "c0009", "m1", 1), results[0]]
    report, _, _ = finish(tmp_path, suite, plan, iter(results))
    assert report.run_dir is not None and report.status == "error"  # results_incomplete
    summary = read_json(report.run_dir / "summary.json")
    assert summary["run"]["completeness"] == check_complete(plan, results).to_json()
    expected = build_summary(
        suite, results, run_id=summary["run"]["run_id"], mode="replay", planned=len(plan)
    )
    assert summary["cases"] == json.loads(json.dumps(expected.cases))
    listed = RunData(report.run_dir, read_json(report.run_dir / "run.json"), summary, results)
    assert (report.run_dir / "junit.xml").read_bytes() == render_junit(listed)


def test_memory_kept_does_not_grow_with_attempts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """4x the attempts: what the run keeps grows by bytes an attempt (an offset, a seen flag,
    an outcome letter), and `finish_run`'s peak barely moves. A list of the results, as before,
    would keep ~1 KB an attempt and peak at several KB an attempt building the reports."""
    # summary.json under 1 MiB is indented in memory (a fixed cost); never, so both sizes
    # are measured the same way.
    monkeypatch.setattr(runs_module, "PRETTY_MAX_BYTES", 0)
    suite = make_suite(tmp_path / "suite", cases=40)
    measured = []
    tracemalloc.start()
    try:
        for runs in (1, 10, 40):  # the first imports what a run's end uses; 800 and 3,200
            plan = build_plan(suite, models=("m1", "m2"), runs=runs)
            _, kept, peak = finish(tmp_path / f"runs-{runs}", suite, plan, results_of(plan))
            measured.append((len(plan), kept, peak))
    finally:
        tracemalloc.stop()
    _, (small, kept_small, peak_small), (large, kept_large, peak_large) = measured
    more = large - small
    assert kept_large - kept_small < 40 * more, measured
    assert peak_large - peak_small < 100 * more, measured
