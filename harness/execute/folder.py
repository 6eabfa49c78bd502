"""The run's folder as a run writes it: run.json when the run starts, each result appended (and
counted) as it comes, each attempt's stderr log and, in a sweep, its transcript.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from harness._version import __version__
from harness.aggregate.tally import RunTally
from harness.attempt.context import AttemptOutput
from harness.attempt.spec import AttemptPlan
from harness.cassette.modes import Gateways
from harness.config.schema import Budgets, Suite
from harness.errors import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_INFRA,
    EXIT_INTERRUPTED,
    EXIT_OK,
    InfrastructureError,
)
from harness.execute.events import RunEvents
from harness.execute.prepare import PreparedGate
from harness.plan.build import Plan
from harness.protocol.messages import PROTOCOL_VERSION
from harness.results import AttemptResult
from harness.storage.runs import RunDirectory

EXIT_CODE_MEANING = {
    str(EXIT_OK): "all passed",
    str(EXIT_FAILED): "a case failed",
    str(EXIT_CONFIG): "config or usage error",
    str(EXIT_INFRA): "infrastructure error",
    str(EXIT_INTERRUPTED): "interrupted",
}


class Versions(msgspec.Struct, frozen=True):
    harness: str
    python: str
    platform: str
    protocol: int


class RunDocument(msgspec.Struct, frozen=True):
    """run.json, in its key order: written as the run starts (status `started`, the fields
    after `status` unset, so not written) and replaced whole when it ends."""

    run_id: str
    suite: str
    suite_path: str
    mode: str
    strict: bool
    workers: int
    attempts_planned: int
    started_at: str
    versions: Versions
    argv: list[str]
    exit_code_meaning: dict[str, str]
    models: list[str]
    runs: int
    suite_file: str  # where each case is defined (SARIF points there)
    case_sources: dict[str, list[str | int]]  # case id -> [file, line]
    git_sha: str | None
    baseline: str | None
    reused: int
    engine: str
    grading: dict[str, Any]
    # What `harness serve` filters and shows by that is nowhere else in the run directory: the
    # tags and the budget limits of each case (only cases that have some).
    case_tags: dict[str, dict[str, str]] = {}
    case_budgets: dict[str, dict[str, Any]] = {}
    status: str = "started"
    exit_code: int | UnsetType = UNSET
    reason_code: str | UnsetType = UNSET
    message: str | UnsetType | None = UNSET
    attempts_finished: int | UnsetType = UNSET
    passed: int | UnsetType = UNSET
    trials_lost: int | UnsetType = UNSET
    complete: bool | UnsetType = UNSET
    finished_at: str | UnsetType = UNSET
    # What the run did otherwise than asked, and why (agent_reuse: fork spawning instead).
    notes: list[str] | UnsetType = UNSET


def run_document(
    suite: Suite,
    plan: Plan,
    gate: PreparedGate,
    *,
    run_id: str,
    strict: bool,
    workers: int,
    engine: str,
    grading: dict[str, Any],
) -> RunDocument:
    """run.json as the run starts."""
    baseline = gate.keeper.baseline
    return RunDocument(
        run_id=run_id,
        suite=suite.name,
        suite_path=str(suite.dir),
        mode=suite.mode.value,
        strict=strict,
        workers=workers,
        attempts_planned=len(plan),
        started_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        versions=Versions(__version__, sys.version.split()[0], sys.platform, PROTOCOL_VERSION),
        argv=sys.argv,
        exit_code_meaning=EXIT_CODE_MEANING,
        models=[m for m in plan.models if m is not None],
        runs=plan.runs,
        suite_file=str(suite.file),
        case_sources={case.id: [str(case.file), case.line] for case in suite.cases},
        git_sha=gate.git_sha,
        baseline=str(baseline.path) if baseline else None,
        reused=len(gate.reused),
        engine=engine,
        grading=grading,
        case_tags={case.id: dict(case.tags) for case in suite.cases if case.tags},
        case_budgets={case.id: limits for case in suite.cases if (limits := _limits(case.budgets))},
    )


def _limits(budgets: Budgets) -> dict[str, Any]:
    return {
        name: value for name, value in msgspec.structs.asdict(budgets).items() if value is not None
    }


class RunFolder:
    """`<output_dir>/<suite>/<run_id>/` while the run goes: results go to results.jsonl as they
    come, and memory keeps only their counts and offsets (the tally)."""

    def __init__(
        self,
        directory: RunDirectory,
        document: RunDocument,
        *,
        suite: Suite,
        plan: Plan,
        events: RunEvents,
        redact: Gateways,
    ) -> None:
        self.directory = directory
        self.document = document
        self.suite = suite
        self.plan = plan
        self.events = events
        self.redact = redact
        self.tally = RunTally(plan, directory.root / "results.jsonl")

    @classmethod
    def create(
        cls,
        output_dir: Path,
        document: RunDocument,
        *,
        suite: Suite,
        plan: Plan,
        events: RunEvents,
        redact: Gateways,
    ) -> RunFolder:
        """Make the folder and write run.json (status `started`) in it. `redact` masks secrets
        in what is written (the redaction of the run's tools: see harness.cassette.modes)."""
        try:
            directory = RunDirectory.create(output_dir, document.suite, document.run_id)
        except OSError as exc:
            raise InfrastructureError(
                f"{output_dir}: cannot create the run directory: {exc.strerror or exc}"
            ) from exc
        directory.write_json("run.json", document)
        return cls(directory, document, suite=suite, plan=plan, events=events, redact=redact)

    @property
    def root(self) -> Path:
        return self.directory.root

    def stderr_path(self, attempt: AttemptPlan) -> Path:
        """Where the attempt's stderr goes: beside its transcript in a sweep."""
        if not self.plan.sweep:
            return self.directory.stderr_path(attempt.attempt_id)
        folder = self.directory.attempt_dir(attempt.case.id, attempt.model, attempt.trial)
        return folder / "stderr.log"

    def keep_failed_try(
        self, attempt: AttemptPlan, output: AttemptOutput, try_number: int
    ) -> str | None:
        """Keep a failed try's stderr beside the final one instead of appending to it; returns
        where it went."""
        stderr = self.stderr_path(attempt)
        if output.result.stderr_path is None or not stderr.exists():
            return None
        kept = stderr.with_name(f"stderr.try-{try_number}.log")
        with contextlib.suppress(OSError):
            os.replace(stderr, kept)
            return str(kept)
        return None

    def note(self, message: str) -> None:
        """Something the run does otherwise than asked: on the console now, in run.json."""
        self.events.warning(message)
        notes = [] if self.document.notes is UNSET else self.document.notes
        self.document = msgspec.structs.replace(self.document, notes=[*notes, message])
        self.directory.write_json("run.json", self.document)

    def write(self, output: AttemptOutput) -> None:
        """An attempt's result and trace, redacted first: secrets never reach disk."""
        result = self.redact.redact_result(output.result)
        trace_events = self.redact.redact_events(output.trace.events)
        self.directory.append_trace(trace_events)
        if self.plan.sweep:
            folder = self.directory.attempt_dir(result.case_id, result.model, result.trial)
            self.directory.write_transcript(folder, trace_events)
        self.add(result)

    def add(self, result: AttemptResult) -> None:
        """Append a result as it is (a reused one has no trace) and count it."""
        self.tally.add(result, self.directory.append_result(result))
        self.events.attempt_finished(result)

    def close(self) -> None:
        self.directory.close()
