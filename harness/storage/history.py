"""The run history in SQLite: every run and attempt result, for trends, flakiness and
incremental runs. Stdlib sqlite3 in WAL mode; a run writes once, in one transaction, at its end
(one writer at a time; concurrent runs wait on the write lock). The schema is versioned.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec

from harness.config.files import not_a_file
from harness.errors import UsageError
from harness.results import AttemptResult

DEFAULT_DB = ".harness/history.db"
MEMORY = ":memory:"
# How long a run waits for another run's write to finish before giving up.
BUSY_TIMEOUT_SECONDS = 30.0


def project_root(start: Path) -> Path:
    """The repository `start` is in (the nearest folder at or above it holding `.git`: a
    checkout, a worktree or a submodule), else the cwd. Not a `.harness` folder found above:
    a stray one in /tmp or $HOME would gather every project's runs into one history."""
    start = start.absolute()
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return Path.cwd()


def resolve_db(db: str, start: Path) -> str:
    """Where the history database `db` is: the default (DEFAULT_DB) at the project root of
    `start` (a suite's folder, or the cwd), so runs from any folder of a project share one
    history; any other path as given (relative to the cwd); `:memory:` as it is."""
    if db != DEFAULT_DB:
        return db
    return str(project_root(start) / DEFAULT_DB)


# Each entry upgrades the schema from its index to index + 1. Append only: never edit a
# migration that has shipped, or databases already past it will differ from new ones.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        suite TEXT NOT NULL,
        suite_path TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        git_sha TEXT,
        harness_version TEXT,
        mode TEXT,
        status TEXT,
        exit_code INTEGER,
        attempts INTEGER NOT NULL,
        passed INTEGER NOT NULL,
        models TEXT NOT NULL DEFAULT '[]',
        run_dir TEXT,
        config_hash TEXT
    );
    CREATE INDEX runs_by_suite ON runs (suite, started_at);
    CREATE TABLE results (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        attempt_id TEXT NOT NULL,
        case_id TEXT NOT NULL,
        model TEXT,
        trial INTEGER,
        status TEXT NOT NULL,
        failure_reason TEXT,
        wall_ms INTEGER,
        tool_calls INTEGER,
        tool_errors INTEGER,
        tokens_in INTEGER,
        tokens_out INTEGER,
        cost_usd REAL,
        steps INTEGER,
        fingerprint TEXT,
        PRIMARY KEY (run_id, attempt_id)
    );
    CREATE INDEX results_by_case ON results (case_id, model);
    CREATE INDEX results_by_fingerprint ON results (fingerprint, status);
    """,
    # 2: re-runs and reuse, so flakiness and incremental skips are visible in the history.
    """
    ALTER TABLE results ADD COLUMN flaky INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE results ADD COLUMN reruns INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE results ADD COLUMN reused_from TEXT;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


# A msgspec Struct, not a dataclass: ~50x cheaper to define (start-up), and to make.
class RunRecord(msgspec.Struct, frozen=True):
    run_id: str
    suite: str
    started_at: str
    suite_path: str | None = None
    finished_at: str | None = None
    git_sha: str | None = None
    harness_version: str | None = None
    mode: str | None = None
    status: str | None = None
    exit_code: int | None = None
    run_dir: str | None = None
    config_hash: str | None = None


def _check_location(path: Path) -> None:
    """The database's folder made, or one line saying why it cannot be (a file named
    `.harness` where the folder goes, say): a usage error, exit 2, never a traceback."""
    fix = "pass --db PATH elsewhere (or --db :memory:)"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), path.parent)
        reason = f"{blocker} is a file, not a folder" if blocker.exists() else exc.strerror
        raise UsageError(
            f"{path}: cannot create the history database's folder: {reason}; {fix}"
        ) from None
    if (problem := not_a_file(path)) is not None:  # sqlite would block on a FIFO
        raise UsageError(f"{path}: the history database {problem}; {fix}")


class History:
    """An open history database. Use as a context manager, or call close()."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.db = connection

    @classmethod
    def open(cls, path: str | Path) -> History:
        """Open (creating and migrating) the database at `path`, or `:memory:`."""
        target = str(path)
        if target != MEMORY:
            _check_location(Path(target))
        try:
            connection = sqlite3.connect(target, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA foreign_keys = ON")
            if target != MEMORY:
                # WAL: readers (`harness history`, `report`) never block the one writer.
                connection.execute("PRAGMA journal_mode = WAL")
                connection.execute("PRAGMA synchronous = NORMAL")
            history = cls(connection)
            history.migrate()
        except sqlite3.DatabaseError as exc:
            raise UsageError(f"{target}: not a usable history database: {exc}") from None
        return history

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def version(self) -> int:
        self.db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = self.db.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def migrate(self) -> None:
        """Apply the migrations this database lacks, each in its own transaction."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            current = self.version()
            if current > SCHEMA_VERSION:
                raise UsageError(
                    f"history schema version {current} is newer than this harness knows "
                    f"({SCHEMA_VERSION}); upgrade harness or use another --db"
                )
            for version in range(current, SCHEMA_VERSION):
                for statement in _statements(MIGRATIONS[version]):
                    self.db.execute(statement)
                self.db.execute("INSERT INTO schema_version (version) VALUES (?)", (version + 1,))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def record_run(
        self,
        run: RunRecord,
        results: Iterable[AttemptResult],
        fingerprints: Mapping[str, str] | Callable[[AttemptResult], str | None] | None = None,
    ) -> None:
        """Store a run and its results in one transaction (a rerun of the same id replaces it).

        `results` may be a stream (a sweep's results.jsonl read back): rows are inserted as
        they come, and the run's counts filled in once they are all in.
        `fingerprints` maps attempt ids to fingerprints, or computes one for a result."""
        if callable(fingerprints):
            fingerprint_of = fingerprints
        else:
            known = fingerprints or {}

            def fingerprint_of(result: AttemptResult) -> str | None:
                return known.get(result.attempt_id)

        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("DELETE FROM runs WHERE run_id = ?", (run.run_id,))
            self.db.execute(
                "INSERT INTO runs (run_id, suite, suite_path, started_at, finished_at, git_sha,"
                " harness_version, mode, status, exit_code, attempts, passed, models, run_dir,"
                " config_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run.run_id, run.suite, run.suite_path, run.started_at, run.finished_at,
                    run.git_sha, run.harness_version, run.mode, run.status, run.exit_code,
                    0, 0, "[]", run.run_dir, run.config_hash,
                ),
            )  # fmt: skip
            counts = {"attempts": 0, "passed": 0}
            models: set[str] = set()

            def rows() -> Iterator[tuple[Any, ...]]:
                for result in results:  # one at a time: executemany reads rows as it goes
                    counts["attempts"] += 1
                    counts["passed"] += result.status == "pass"
                    if result.model is not None:
                        models.add(result.model)
                    yield _result_row(run.run_id, result, fingerprint_of(result))

            self.db.executemany(
                f"INSERT INTO results ({', '.join(RESULT_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(RESULT_COLUMNS))})",
                rows(),
            )
            self.db.execute(
                "UPDATE runs SET attempts = ?, passed = ?, models = ? WHERE run_id = ?",
                (counts["attempts"], counts["passed"], json.dumps(sorted(models)), run.run_id),
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def passing_results(self, suite: str, fingerprints: Iterable[str]) -> dict[str, dict[str, Any]]:
        """fingerprint -> the latest passing result with it (for --incremental). A reused result
        counts too: it stood for a pass of the same inputs."""
        wanted = sorted(set(fingerprints))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), 500):  # SQLite's bound-parameter limit
            chunk = wanted[start : start + 500]
            query = (
                "SELECT r.*, u.started_at AS run_started_at FROM results r"
                " JOIN runs u ON u.run_id = r.run_id WHERE u.suite = ? AND r.status = 'pass'"
                f" AND r.fingerprint IN ({', '.join('?' * len(chunk))})"
                " ORDER BY u.started_at, u.rowid"
            )
            for row in self.db.execute(query, (suite, *chunk)):
                found[row["fingerprint"]] = dict(row)  # later runs overwrite earlier ones
        return found

    def suites(self) -> list[str]:
        """Every suite with a run, by name."""
        rows = self.db.execute("SELECT DISTINCT suite FROM runs ORDER BY suite").fetchall()
        return [row[0] for row in rows]

    def runs(self, suite: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """The latest `limit` runs, oldest first."""
        where, params = ("WHERE suite = ?", (suite,)) if suite else ("", ())
        rows = self.db.execute(
            f"SELECT * FROM runs {where} ORDER BY started_at DESC, rowid DESC LIMIT ?",
            (*params, limit),
        ).fetchall()
        return [dict(row) for row in reversed(rows)]

    def results_of(
        self, run_ids: Sequence[str], case: str | None = None, model: str | None = None
    ) -> list[dict[str, Any]]:
        if not run_ids:
            return []
        query = f"SELECT * FROM results WHERE run_id IN ({', '.join('?' * len(run_ids))})"
        params: list[Any] = list(run_ids)
        if case is not None:
            query += " AND case_id = ?"
            params.append(case)
        if model is not None:
            query += " AND model = ?"
            params.append(model)
        return [dict(row) for row in self.db.execute(query + " ORDER BY case_id", params)]

    def flaky_cases(self, suite: str) -> dict[str, str]:
        """case id -> why it is flaky: its outcome flipped between runs of one commit, or it
        passed only on a re-run. Runs without a known commit count as one commit each."""
        found: dict[str, str] = {}
        flips = self.db.execute(
            "SELECT r.case_id, u.git_sha, count(DISTINCT r.status = 'pass') AS outcomes"
            " FROM results r JOIN runs u ON u.run_id = r.run_id"
            " WHERE u.suite = ? AND u.git_sha IS NOT NULL AND r.reused_from IS NULL"
            " GROUP BY r.case_id, r.model, u.git_sha HAVING outcomes > 1",
            (suite,),
        )
        for row in flips:
            found.setdefault(row[0], f"passed and failed at commit {str(row[1])[:12]}")
        rerun = self.db.execute(
            "SELECT DISTINCT r.case_id FROM results r JOIN runs u ON u.run_id = r.run_id"
            " WHERE u.suite = ? AND r.flaky = 1",
            (suite,),
        )
        for row in rerun:
            found.setdefault(row[0], "passed only on a re-run")
        return found


RESULT_COLUMNS = (
    "run_id", "attempt_id", "case_id", "model", "trial", "status", "failure_reason", "wall_ms",
    "tool_calls", "tool_errors", "tokens_in", "tokens_out", "cost_usd", "steps", "fingerprint",
    "flaky", "reruns", "reused_from",
)  # fmt: skip


def _result_row(run_id: str, result: AttemptResult, fingerprint: str | None) -> tuple[Any, ...]:
    return (
        run_id, result.attempt_id or result.case_id, result.case_id, result.model, result.trial,
        result.status, result.failure_reason, result.wall_ms, result.tool_calls,
        result.tool_errors, result.tokens_in, result.tokens_out, result.cost_usd, result.steps,
        fingerprint, int(result.flaky), result.reruns,
        result.reused_from,
    )  # fmt: skip


def _statements(script: str) -> list[str]:
    # executescript() would COMMIT the open transaction; run statements one by one instead.
    return [part.strip() for part in script.split(";") if part.strip()]
