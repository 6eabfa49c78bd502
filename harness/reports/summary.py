"""summary.json with RunLedger's field names (so its baselines and tooling keep working)."""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec import UNSET, UnsetType

from harness._version import __version__
from harness.aggregate.summary import SummaryTally
from harness.config.containment import plain_file
from harness.config.schema import Suite
from harness.results import PASS, AttemptResult

if TYPE_CHECKING:
    from harness.aggregate.result_index import ResultIndex

SCHEMA_VERSION = 1
# RunLedger's baseline reader requires this field; we mark which schema we follow.
RUNLEDGER_SCHEMA = "0.2.3-compatible"


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest rank, as RunLedger computes it: sorted[ceil(p*n) - 1]."""
    ordered = sorted(values)
    index = max(math.ceil(fraction * len(ordered)) - 1, 0)
    return ordered[index]


class SummaryRun(msgspec.Struct, frozen=True):
    """summary.json's `run`."""

    run_id: str
    mode: str
    exit_status: str  # success | failed | error; the gate's verdict when it decided the exit
    git_sha: str | None
    ci: dict[str, str] | None
    interrupted: bool
    attempts_planned: int
    completeness: dict[str, object] | UnsetType = UNSET  # a run's own summary (not a regrade)


class SummarySuite(msgspec.Struct, frozen=True):
    """summary.json's `suite`."""

    name: str
    suite_path: str
    agent_command: list[str]
    tool_mode: str
    suite_config_hash: str | None
    cases_total: int


class SummaryGrading(msgspec.Struct, frozen=True):
    """A regrade's record (`harness grade`): its grade.json, and its summary.json's `grading`."""

    grade_id: str
    run_id: str
    run_dir: str
    suite_path: str
    suite_config_hash: str | None
    graded_at: str
    exit_code: int
    reason_code: str
    grading: dict[str, Any]  # the grading options and plugins
    warnings: list[str]


class SummaryDocument(msgspec.Struct, frozen=True):
    """summary.json, in its key order. A run streams its `cases` rows into the file instead
    of holding them (`cases` is then empty here); the parts after `cases` are written only when
    set: the gate's (`regression`, `policy_snapshot`), a sweep's, a regrade's."""

    schema_version: int
    generated_at: str
    runledger_version: str
    harness_version: str
    run: SummaryRun
    suite: SummarySuite
    aggregates: dict[str, Any]
    cases: list[dict[str, Any]] = msgspec.field(default_factory=list)
    regression: dict[str, Any] | UnsetType = UNSET
    policy_snapshot: dict[str, Any] | UnsetType = UNSET
    sweep: dict[str, Any] | UnsetType = UNSET
    grading: SummaryGrading | UnsetType = UNSET

    def parts(self) -> dict[str, Any]:
        """The fields that are set, in the file's order, as they are (a write that streams
        `cases` splits the rest part by part)."""
        fields = ((name, getattr(self, name)) for name in self.__struct_fields__)
        return {name: value for name, value in fields if value is not UNSET}

    def overview(self) -> dict[str, Any]:
        """The document without `cases`, its parts as dicts (what the reports read). A sweep's
        part is kept as it is: its pass@k curves are Mappings computed when read."""
        return {
            name: msgspec.to_builtins(value) if isinstance(value, msgspec.Struct) else value
            for name, value in self.parts().items()
            if name != "cases"
        }


def summary_head(
    tally: SummaryTally,
    suite: Suite,
    *,
    run_id: str,
    mode: str,
    interrupted: bool = False,
    planned: int | None = None,
    completeness: dict[str, object] | UnsetType = UNSET,
) -> SummaryDocument:
    """summary.json without its per-attempt rows (`cases` empty), for the caller to fill or to
    stream (RunDirectory.write_json_streamed)."""
    total, counts = tally.total, tally.counts
    status = "error" if interrupted else "success" if counts[PASS] == total else "failed"
    github = os.environ.get("GITHUB_ACTIONS") == "true"
    return SummaryDocument(
        schema_version=SCHEMA_VERSION,
        generated_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        runledger_version=RUNLEDGER_SCHEMA,
        harness_version=__version__,
        run=SummaryRun(
            run_id=run_id,
            mode=mode,
            exit_status=status,
            git_sha=os.environ.get("GITHUB_SHA"),
            ci={"provider": "github"} if github else None,
            interrupted=interrupted,
            attempts_planned=planned if planned is not None else total,
            completeness=completeness,
        ),
        suite=SummarySuite(
            name=suite.name,
            suite_path=_relative_to_cwd(suite.dir),
            agent_command=list(suite.agent_command),
            tool_mode=mode,
            suite_config_hash=suite.config_hash,
            cases_total=len(suite.cases),
        ),
        aggregates=tally.aggregates(),
    )


def summary_order(result: AttemptResult) -> tuple[str, str, int]:
    """The order of summary.json's rows: case, model, trial."""
    return (result.case_id, result.model or "", result.trial or 0)


def build_summary(
    suite: Suite,
    results: Sequence[AttemptResult],
    *,
    run_id: str,
    mode: str,
    interrupted: bool = False,
    planned: int | None = None,
) -> SummaryDocument:
    """summary.json from a list of results (a run streams its rows instead: summary_rows)."""
    tally = SummaryTally()
    for result in results:
        tally.add(result)
    head = summary_head(
        tally, suite, run_id=run_id, mode=mode, interrupted=interrupted, planned=planned
    )
    display = DisplayPaths()
    cases = [case_row(result, display) for result in sorted(results, key=summary_order)]
    return msgspec.structs.replace(head, cases=cases)


def summary_rows(
    index: ResultIndex, *, annotate: bool, display: DisplayPaths | None = None
) -> Iterator[dict[str, Any]]:
    """summary.json's rows of a run, read back from results.jsonl one at a time, in order.

    `annotate` (a gated run) adds our per-attempt facts; RunLedger readers ignore extra keys.
    Where a (case, model, trial) has more than one result (a bug), every row of it shows the
    last one's facts, as a dict keyed by (case, model, trial) did.
    """
    last = index.last_offsets() if annotate else {}
    display = display or DisplayPaths()
    for result in index.read(index.summary_offsets()):
        if not annotate:
            yield case_row(result, display)
            continue
        offset = last.get((result.case_id, result.model, result.trial))
        yield case_row(result, display, result if offset is None else index.read_one(offset))


def case_row(
    result: AttemptResult,
    display: DisplayPaths | None = None,
    facts: AttemptResult | None = None,
) -> dict[str, Any]:
    """One row of summary.json's `cases`; with `facts` (a gated run), our per-attempt facts
    from that result (the last of the row's (case, model, trial)) as well."""
    failed_assertions = [
        {"type": (f.details or {}).get("assertion", f.type), "message": f.message}
        for f in result.failures
        if f.type == "assertion_failed"
    ]
    row = {
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
            "cassette_path": (display or DisplayPaths())(result.cassette_path)
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
    if facts is not None:
        row.update(
            flaky=facts.flaky,
            reruns=facts.reruns,
            reused_from=facts.reused_from,
            fingerprint=facts.fingerprint,
        )
    return row


def _relative_to_cwd(path: Path) -> str:
    """Relative to the cwd when under it, so committed baselines carry no machine paths."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class DisplayPaths:
    """`_relative_to_cwd` for the rows of one run's end, at one lstat a file.

    Resolving every cassette path in full (an lstat per component, twice with the cwd) was
    the largest cost of a run's end. Here the cwd and each folder are resolved once; a file
    that is a link, is missing or is named `.`/`..` is resolved in full. Same strings, same
    errors (a symlink loop raises from the folder's resolve() as from the path's).
    """

    def __init__(self) -> None:
        self._cwd: Path | None = None
        self._folders: dict[str, Path] = {}
        self._shown: dict[str, str] = {}  # trials and models share a case's cassette

    def __call__(self, cassette_path: str) -> str:
        shown = self._shown.get(cassette_path)
        if shown is None:
            shown = self._shown[cassette_path] = self._display(cassette_path)
        return shown

    def _display(self, cassette_path: str) -> str:
        path = Path(cassette_path)
        folder, name = os.path.split(path)
        if name in ("", ".", "..") or not plain_file(path):
            return _relative_to_cwd(path)
        real_folder = self._folders.get(folder)
        if real_folder is None:
            real_folder = self._folders[folder] = Path(folder).resolve()
        if self._cwd is None:
            self._cwd = Path.cwd().resolve()
        try:
            return str((real_folder / name).relative_to(self._cwd))
        except ValueError:
            return str(path)
