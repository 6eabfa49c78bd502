"""One case over past runs: its trials per run, from the history database (opened read-only)
and from run directories the database does not know (a `--db :memory:` run, another machine's
folder), with the flakiness rule applied over the window.

The rule: a case (on one model) is flaky when, over at least FLAKY_MIN_RUNS runs, its pooled pass
rate stays between FLAKY_LOW and FLAKY_HIGH; the database's own signs (passed and failed at one
commit, passed only on a re-run) are reported beside it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from harness.kinds import FailureKind, Infrastructure, rule_of
from harness.results import FAIL, INFRA_ERROR, PASS
from harness.serve.index import RunRef
from harness.serve.lines import complete_lines, decode_row

FLAKY_LOW, FLAKY_HIGH, FLAKY_MIN_RUNS = 0.1, 0.9, 5
DEFAULT_RUNS = 30
MAX_RUNS = 200


def open_read_only(path: Path) -> sqlite3.Connection | None:
    """The database at `path` opened `mode=ro` (never created, never written), or None."""
    if not path.is_file():
        return None
    try:
        connection = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
        )
        connection.row_factory = sqlite3.Row
        connection.execute("SELECT 1 FROM runs LIMIT 1")
    except sqlite3.DatabaseError:
        return None
    return connection


@dataclass
class Trial:
    run_id: str
    attempt_id: str
    started_at: str
    git_sha: str | None
    model: str | None
    trial: int | None
    status: str
    reason: str | None
    wall_ms: int | None
    cost_usd: float | None
    tokens_out: int | None
    score: float | None = None
    flaky: bool = False
    lost: bool = False  # an infrastructure error: no trial


_HISTORY_SQL = """
SELECT r.run_id, r.attempt_id, u.started_at, u.git_sha, r.model, r.trial, r.status,
       r.failure_reason, r.wall_ms, r.cost_usd, r.tokens_out, r.flaky
FROM results r JOIN runs u ON u.run_id = r.run_id
WHERE r.case_id = ? AND (? IS NULL OR u.suite = ?) AND (? IS NULL OR r.model = ?)
ORDER BY u.started_at DESC, u.rowid DESC
"""


def database_trials(
    db: sqlite3.Connection, case_id: str, suite: str | None, model: str | None, runs: int
) -> list[Trial]:
    found: list[Trial] = []
    seen: set[str] = set()
    cursor = db.execute(_HISTORY_SQL, (case_id, suite, suite, model, model))
    for row in cursor:
        if row["run_id"] not in seen and len(seen) == runs:
            break
        seen.add(row["run_id"])
        found.append(
            Trial(
                row["run_id"], row["attempt_id"], row["started_at"], row["git_sha"], row["model"],
                row["trial"], row["status"], row["failure_reason"], row["wall_ms"], row["cost_usd"],
                row["tokens_out"], flaky=bool(row["flaky"]),
                lost=_infrastructure(row["failure_reason"]),
            )
        )  # fmt: skip
    return found


def folder_trials(ref: RunRef, git_sha: str | None, case_id: str, model: str | None) -> list[Trial]:
    """The case's trials read from one run directory's results.jsonl."""
    marker = msgspec.json.encode(case_id)
    found = []
    for _, line in complete_lines(ref.path / "results.jsonl"):
        if marker not in line:
            continue
        row = decode_row(line)
        if row is None or row.case_id != case_id or (model is not None and row.model != model):
            continue
        found.append(
            Trial(
                ref.run_id, row.key, ref.started_at, git_sha, row.model, row.trial, row.status,
                row.reason, row.wall_ms, row.cost_usd, row.tokens_out, row.score, row.flaky,
                row.outcome == INFRA_ERROR,
            )
        )  # fmt: skip
    return found


def per_run(trials: Iterable[Trial]) -> list[dict[str, Any]]:
    """One entry per (run, model), oldest run first."""
    groups: dict[tuple[str, str | None], list[Trial]] = {}
    for trial in trials:
        groups.setdefault((trial.run_id, trial.model), []).append(trial)
    entries = []
    for (run_id, model), group in groups.items():
        group.sort(key=lambda t: t.trial or 0)
        counted = [t for t in group if not t.lost]
        passed = sum(t.status == PASS for t in counted)
        walls = [t.wall_ms for t in group if t.wall_ms is not None]
        costs = [t.cost_usd for t in group if t.cost_usd is not None]
        scores = [t.score for t in group if t.score is not None]
        entries.append(
            {
                "run_id": run_id,
                "started_at": group[0].started_at,
                "git_sha": group[0].git_sha,
                "model": model,
                "n": len(counted),
                "c": passed,
                "pass_rate": passed / len(counted) if counted else None,
                "trials": [_letter(t) for t in group],
                "attempts": [t.attempt_id for t in group],
                "wall_ms": walls,
                "mean_wall_ms": sum(walls) / len(walls) if walls else None,
                "cost_usd": sum(costs) if costs else None,
                "mean_score": sum(scores) / len(scores) if scores else None,
                "reasons": sorted({t.reason for t in group if t.reason}),
                "rerun_flaky": any(t.flaky for t in group),
            }
        )
    entries.sort(key=lambda e: (e["started_at"], e["run_id"]))
    return entries


def _infrastructure(reason: str | None) -> bool:
    """Whether a failure type stored in the database is always the machinery's (the database
    keeps no outcome; a kind that is infrastructure only with some details counts as a trial)."""
    return reason is not None and rule_of(reason).infrastructure is Infrastructure.ALWAYS


def _letter(trial: Trial) -> str:
    if trial.status == PASS:
        return "P"
    if trial.lost:
        return "L"
    if trial.reason == FailureKind.BUDGET_EXCEEDED:
        return "B"
    return "F" if trial.status == FAIL else "E"


def flakiness(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The rule over the window, per model: pooled rate, runs counted, verdict and why."""
    verdicts: dict[str, Any] = {}
    models = sorted({e["model"] or "" for e in entries})
    for model in models:
        mine = [e for e in entries if (e["model"] or "") == model and e["n"]]
        n, c = sum(e["n"] for e in mine), sum(e["c"] for e in mine)
        rate = c / n if n else None
        enough = len(mine) >= FLAKY_MIN_RUNS
        between = rate is not None and FLAKY_LOW <= rate <= FLAKY_HIGH
        verdicts[model] = {
            "runs": len(mine),
            "trials": n,
            "passed": c,
            "pass_rate": rate,
            "flaky": enough and between,
            "rule": (
                f"flaky when the pass rate over at least {FLAKY_MIN_RUNS} runs stays between "
                f"{FLAKY_LOW:.0%} and {FLAKY_HIGH:.0%}"
            ),
            "rerun_flaky_runs": sum(1 for e in mine if e["rerun_flaky"]),
        }
    return verdicts
