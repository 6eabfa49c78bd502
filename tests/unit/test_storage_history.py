"""The SQLite history: migrations with a version table, one transaction per run, lookups for
--incremental and flakiness."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.results import AttemptResult
from harness.storage.history import MIGRATIONS, SCHEMA_VERSION, History, RunRecord


def result(case_id: str, status: str = "pass", **extra: object) -> AttemptResult:
    return AttemptResult(case_id=case_id, attempt_id=case_id, status=status, wall_ms=5, **extra)  # type: ignore[arg-type]


def record(
    history: History, run_id: str, started: str, *results: AttemptResult, sha: str | None = None
) -> None:
    run = RunRecord(run_id=run_id, suite="s", started_at=started, git_sha=sha)
    history.record_run(run, list(results), {r.attempt_id: f"fp-{r.case_id}" for r in results})


def test_new_database_is_migrated_to_the_latest_version(tmp_path: Path) -> None:
    with History.open(tmp_path / "deep" / "h.db") as history:
        assert history.version() == SCHEMA_VERSION
        mode = history.db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    with History.open(":memory:") as memory:
        assert memory.version() == SCHEMA_VERSION


def test_an_old_database_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    with sqlite3.connect(path) as db:  # what version 1 of harness left behind
        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        db.executescript(MIGRATIONS[0])
        db.execute("INSERT INTO schema_version VALUES (1)")
        db.execute(
            "INSERT INTO runs (run_id, suite, started_at, attempts, passed)"
            " VALUES ('old', 's', '1', 1, 1)"
        )
    with History.open(path) as history:
        assert history.version() == SCHEMA_VERSION
        columns = {row[1] for row in history.db.execute("PRAGMA table_info(results)")}
        assert {"flaky", "reruns", "reused_from"} <= columns
        assert [run["run_id"] for run in history.runs("s")] == ["old"]


def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    History.open(path).close()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION + 1,))
    with pytest.raises(UsageError, match="newer than this harness knows"):
        History.open(path)


def test_not_a_database_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "h.db").write_text("not sqlite " * 100)
    with pytest.raises(UsageError, match="not a usable history database"):
        History.open(tmp_path / "h.db")


def test_latest_passing_result_per_fingerprint() -> None:
    with History.open(":memory:") as history:
        record(history, "r1", "2024-01-01T00:00:00Z", result("a"), result("b", "fail"))
        record(
            history, "r2", "2024-01-02T00:00:00Z", result("a", tool_calls=3), result("b", "fail")
        )
        found = history.passing_results("s", ["fp-a", "fp-b", "fp-c"])
        assert set(found) == {"fp-a"}
        assert found["fp-a"]["run_id"] == "r2" and found["fp-a"]["tool_calls"] == 3
        assert history.passing_results("other", ["fp-a"]) == {}


def test_recording_a_run_again_replaces_it() -> None:
    with History.open(":memory:") as history:
        record(history, "r1", "1", result("a"))
        record(history, "r1", "1", result("a", "fail"), result("b"))
        assert [run["attempts"] for run in history.runs("s")] == [2]
        rows = history.results_of(["r1"])
        assert [(row["case_id"], row["status"]) for row in rows] == [("a", "fail"), ("b", "pass")]


def test_flaky_cases() -> None:
    with History.open(":memory:") as history:
        record(history, "r1", "1", result("a"), result("b"), result("c"), sha="x")
        record(history, "r2", "2", result("a", "fail"), result("b"), result("c"), sha="x")
        record(history, "r3", "3", result("b", "fail"), result("c", flaky=True, reruns=1), sha="y")
        assert history.flaky_cases("s") == {
            "a": "passed and failed at commit x",  # flipped at one commit
            "c": "passed only on a re-run",
        }  # b flipped across two commits: a change, not flakiness


def test_runs_are_listed_oldest_first_within_the_limit() -> None:
    with History.open(":memory:") as history:
        for day in range(1, 6):
            record(history, f"r{day}", f"2024-01-0{day}", result("a"))
        assert [run["run_id"] for run in history.runs("s", limit=3)] == ["r3", "r4", "r5"]
        assert history.results_of(["r5"], case="a", model=None)
