"""The end of a run: `decide` its exit code, status and reason from what happened (the one place
that does, for `harness run`, `harness grade` and `harness ci`), then write summary.json and
run.json, record the history, and write the trend and the reports.

Each writer reads the results back from results.jsonl one at a time (see
harness.aggregate.tally): the end of a 10,000-attempt sweep holds none of them.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import msgspec
from msgspec import UnsetType

from harness._version import __version__
from harness.aggregate.completeness import Completeness
from harness.aggregate.tally import RunTally
from harness.errors import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_INFRA,
    EXIT_INTERRUPTED,
    EXIT_OK,
    HarnessError,
)
from harness.execute.folder import RunDocument, RunFolder
from harness.execute.options import GateOptions
from harness.execute.pool import STOP_FAIL_FAST, STOP_INTERRUPTED
from harness.execute.prepare import PreparedGate
from harness.execute.report import RunReport
from harness.gate.baseline import write_baseline
from harness.gate.evaluate import GateReport
from harness.gate.keeper import GateVerdict
from harness.reports.rebuild import write_reports
from harness.reports.run_data import HISTORY_FILE, RunData
from harness.reports.summary import DisplayPaths, SummaryDocument, summary_head, summary_rows
from harness.results import PASS, UNGRADED
from harness.storage.atomic import atomic_write
from harness.storage.history import RunRecord
from harness.storage.runs import to_builtins

T = TypeVar("T")
HISTORY_POINTS = 50  # runs shown in the HTML chart


class RunEnd(NamedTuple):
    """What happened, as far as the exit code is concerned."""

    interrupted: bool = False  # Ctrl+C or SIGTERM
    error_exit: int | None = None  # the exit code of the HarnessError that ended the run
    fail_fast: bool = False  # --fail-fast stopped it
    complete: bool = True  # every planned attempt has exactly one result
    grader_error: bool = False  # a judge or grader could not run
    passed: int = 0
    ungraded: int = 0  # attempts not graded (--skip-grade)
    total: int = 0
    lost: int = 0  # trials lost to infrastructure (infra_error results): neither pass nor fail


class Decision(NamedTuple):
    exit_code: int  # harness.errors' EXIT_*
    status: str  # run.json's status: finished | stopped | interrupted | error
    reason: str  # run.json's reason_code


def decide(end: RunEnd, gate: GateReport | None = None) -> Decision:
    """The exit code, status and reason of a run that ended as `end` says, gated by `gate` if
    the gate judged it (see `gated`). The gate decides between 0 and 1, never over 2, 3 or 130.
    """
    decision = _ungated(end)
    if gate is not None and decision.exit_code in (EXIT_OK, EXIT_FAILED):
        exit_code = EXIT_OK if gate.passed else EXIT_FAILED
        return Decision(exit_code, decision.status, gate.reason_code)
    return decision


def gated(end: RunEnd) -> bool:
    """Whether the gate judges the run: it finished and every attempt has a verdict. A run with
    ungraded attempts (--skip-grade) is gated by `harness grade`, once graded, never here with
    its ungraded attempts counted as failures."""
    return _ungated(end).status == "finished" and not end.ungraded


def _ungated(end: RunEnd) -> Decision:
    if end.interrupted:
        return Decision(EXIT_INTERRUPTED, "interrupted", "interrupted")
    if end.error_exit is not None:
        # A config problem found only once tools started (an MCP server lacks a tool) is 2.
        return Decision(end.error_exit, "error", "infrastructure_error")
    if end.fail_fast:
        return Decision(EXIT_FAILED, "stopped", "fail_fast")
    if not end.complete:
        # Not stopped, yet a planned attempt has no result or two: a bug, never a green run.
        return Decision(EXIT_INFRA, "error", "results_incomplete")
    if end.grader_error:
        # A judge or grader that could not run says nothing about the agent: infrastructure.
        return Decision(EXIT_INFRA, "finished", "grader_error")
    if end.lost and end.passed + end.ungraded + end.lost == end.total:
        # What did not pass was lost, not failed (harness.kinds): the run measured less than
        # it planned, which says nothing against the agent. Infrastructure, as a grader error.
        return Decision(EXIT_INFRA, "finished", "trials_lost")
    if end.passed == end.total:
        return Decision(EXIT_OK, "finished", "all_passed")
    if end.passed + end.ungraded == end.total:
        return Decision(EXIT_OK, "finished", "ungraded")
    return Decision(EXIT_FAILED, "finished", "cases_failed")


# What an exit code alone says, in decide's words (and "config": bad input, nothing ran).
EXIT_REASONS = {
    EXIT_OK: "all_passed",
    EXIT_FAILED: "cases_failed",
    EXIT_CONFIG: "config",
    EXIT_INFRA: "infrastructure_error",
    EXIT_INTERRUPTED: "interrupted",
}


def reason_of_exit(exit_code: int) -> str:
    """The reason an exit code stands for, for a caller that has only the code (`harness ci`,
    whose run may have ended before it started: a config error is 2)."""
    return EXIT_REASONS.get(exit_code, "infrastructure_error")


def run_end(
    tally: RunTally,
    completeness: Completeness,
    stop_reason: str | None,
    error: HarnessError | None,
) -> RunEnd:
    return RunEnd(
        interrupted=stop_reason == STOP_INTERRUPTED,
        error_exit=error.exit_code if error is not None else None,
        fail_fast=stop_reason == STOP_FAIL_FAST,
        complete=completeness.complete,
        grader_error=tally.grader_error,
        passed=tally.statuses[PASS],
        ungraded=tally.statuses[UNGRADED],
        total=tally.total,
        lost=completeness.lost,
    )


def finish_run(
    folder: RunFolder,
    gate: PreparedGate,
    options: GateOptions,
    *,
    stop_reason: str | None = None,
    error: HarnessError | None = None,
) -> RunReport:
    """Decide, gate, and write what the run leaves: summary.json (and summary.md in a sweep),
    the final run.json, the history, the trend, junit.xml and the reports asked for."""
    tally, plan = folder.tally, folder.plan
    completeness = tally.index.completeness(plan)
    end = run_end(tally, completeness, stop_reason, error)
    display = DisplayPaths()  # each cassette path resolved once for every pass over the rows
    annotate = gated(end)

    def rows() -> Iterator[dict[str, Any]]:
        return summary_rows(tally.index, annotate=annotate, display=display)

    verdict = None
    if annotate:
        verdict = gate.keeper.judge(rows(), tally.unit_sizes, tally.wall_ms_as_rows)
    decision = decide(end, verdict.report if verdict is not None else None)
    summary = _summary(folder, end, decision, completeness, verdict, gate.git_sha)
    _write_summary(folder, summary, rows(), completeness)
    message = str(error) if error else None
    document = msgspec.structs.replace(
        folder.document,
        status=decision.status,
        exit_code=decision.exit_code,
        reason_code=decision.reason,
        message=message,
        attempts_finished=tally.total,
        passed=tally.statuses[PASS],
        trials_lost=completeness.lost,
        complete=completeness.complete,
        finished_at=summary.generated_at,
    )
    with contextlib.suppress(HarnessError):
        folder.directory.write_json("run.json", document)
    overview = summary.overview()
    history = _record_history(folder, document, gate, options)
    _write_reports(folder, document, overview, history, options, rows)
    return RunReport(
        run_dir=folder.root,
        exit_code=decision.exit_code,
        status=decision.status,
        overview=overview,
        planned=len(plan),
        plan=plan,
        completeness=completeness,
        stop_reason=stop_reason,
        message=message,
        tally=tally,
        rows=rows,
    )


def _summary(
    folder: RunFolder,
    end: RunEnd,
    decision: Decision,
    completeness: Completeness,
    verdict: GateVerdict | None,
    git_sha: str | None,
) -> SummaryDocument:
    tally = folder.tally
    summary = summary_head(
        tally.summary,
        folder.suite,
        run_id=folder.document.run_id,
        mode=folder.document.mode,
        interrupted=end.interrupted,
        planned=len(folder.plan),
        completeness=completeness.to_json(),
    )
    if verdict is not None:
        run = msgspec.structs.replace(summary.run, git_sha=summary.run.git_sha or git_sha)
        if decision.exit_code in (EXIT_OK, EXIT_FAILED):  # the gate decided it
            status = "success" if decision.exit_code == EXIT_OK else "failed"
            run = msgspec.structs.replace(run, exit_status=status)
        summary = msgspec.structs.replace(
            summary,
            run=run,
            regression=verdict.regression,
            policy_snapshot=verdict.policy_snapshot,
        )
    if tally.sweep is not None:
        summary = msgspec.structs.replace(summary, sweep=tally.sweep.summary())
    return summary


def _write_summary(
    folder: RunFolder,
    summary: SummaryDocument,
    rows: Iterable[dict[str, Any]],
    completeness: Completeness,
) -> None:
    """summary.json, its rows streamed; a sweep's summary.md. A full disk loses them, not the
    run: run.json and the results are what matter."""
    with contextlib.suppress(HarnessError):
        folder.directory.write_json_streamed("summary.json", summary.parts(), "cases", rows)
        if isinstance(summary.sweep, dict):
            # Imported here: only sweeps render summary.md.
            from harness.reports.sweep import render_sweep_markdown

            markdown = render_sweep_markdown(folder.suite.name, summary.sweep, completeness)
            folder.directory.write_bytes("summary.md", markdown.encode())


def _record_history(
    folder: RunFolder, document: RunDocument, gate: PreparedGate, options: GateOptions
) -> list[dict[str, Any]]:
    """The run and its results into the history; returns the suite's last runs (the trend)."""
    history = gate.history
    if history is None:
        return []
    try:
        history.record_run(
            _history_record(folder.root, document, gate.git_sha),
            folder.tally.results(),
            gate.fingerprints.of_planned(folder.tally.index),
        )
        return history.runs(document.suite, limit=HISTORY_POINTS)
    except sqlite3.Error as exc:
        folder.events.warning(f"{options.db}: history not written: {exc}")
        return []
    finally:
        history.close()


def _history_record(root: Path, document: RunDocument, git_sha: str | None) -> RunRecord:
    return RunRecord(
        run_id=document.run_id,
        suite=document.suite,
        started_at=document.started_at,
        suite_path=document.suite_path,
        finished_at=_set(document.finished_at),
        git_sha=git_sha,
        harness_version=__version__,
        mode=document.mode,
        status=document.status,
        exit_code=_set(document.exit_code),
        run_dir=os.path.abspath(root),
        # run.json has no config hash (summary.json's suite has it): None, as before.
        config_hash=None,
    )


def _set(value: T | UnsetType) -> T | None:
    return None if isinstance(value, UnsetType) else value


def _write_reports(
    folder: RunFolder,
    document: RunDocument,
    overview: dict[str, Any],
    history: list[dict[str, Any]],
    options: GateOptions,
    rows: Callable[[], Iterable[dict[str, Any]]],
) -> None:
    """After run.json is final: the trend snapshot, junit.xml, the reports asked for and the
    exported baseline (one file, sorted and indented whole: it holds every row)."""
    root = folder.root
    data = RunData(root, to_builtins(document), overview, None, history, index=folder.tally.index)
    with contextlib.suppress(HarnessError):
        if history:
            atomic_write(root / HISTORY_FILE, msgspec.json.encode({"runs": history}) + b"\n")
        write_reports(data, {"junit": root / "junit.xml"})
    if options.reports:
        write_reports(data, options.reports)
    if options.export_baseline is not None:
        write_baseline(options.export_baseline, to_builtins({**overview, "cases": list(rows())}))
