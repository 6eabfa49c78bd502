"""History through the CLI: three runs make a trend, `--incremental` reuses unchanged passing
attempts and re-runs a changed one, `--db :memory:` keeps nothing."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.support.cli_runs import Harness, command
from tests.support.gate_suites import failing_steps, make_suite, passing_steps, set_case_steps


def test_three_runs_then_history_shows_the_trend(harness: Harness, tmp_path: Path) -> None:
    suite = make_suite(tmp_path / "suite")
    assert harness.run(suite, "--db", "h.db").exit_code == 0
    set_case_steps(suite, "bravo", failing_steps("bravo"))
    assert harness.run(suite, "--db", "h.db").exit_code == 1
    set_case_steps(suite, "bravo", passing_steps("bravo"))
    assert harness.run(suite, "--db", "h.db").exit_code == 0

    shown = command(harness, "history", "--db", "h.db")

    assert shown.exit_code == 0, shown.describe()
    lines = shown.stdout.splitlines()
    assert lines[0] == "suite gated: 3 run(s), oldest first"
    assert "pass rate  █▆█  100% -> 100%" in lines[1]
    rows = {line.split()[0]: line.split() for line in lines[3:]}
    assert set(rows) == {"alpha", "bravo", "charlie"}
    # case, model, runs, pass rate, trend, flips
    assert rows["bravo"][1:6] == ["-", "3", "67%", "█▁█", "2"]
    assert rows["alpha"][1:6] == ["-", "3", "100%", "███", "0"]
    assert "(flips often)" in " ".join(rows["bravo"])

    only = command(harness, "history", "--db", "h.db", "--case", "bravo")
    assert only.exit_code == 0, only.describe()
    assert [line.split()[0] for line in only.stdout.splitlines()[3:]] == ["bravo"]

    with sqlite3.connect(tmp_path / "h.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        (version,) = db.execute("SELECT max(version) FROM schema_version").fetchone()
        assert version >= 1
        assert db.execute("SELECT count(*) FROM results").fetchone()[0] == 9


def test_incremental_skips_unchanged_passing_attempts(harness: Harness, tmp_path: Path) -> None:
    suite = make_suite(tmp_path / "suite", failing=("charlie",))
    first = harness.run(suite, "--db", "h.db")
    assert first.exit_code == 1, first.describe()
    first_id = first.dir.name

    second = harness.run(suite, "--db", "h.db", "--incremental")
    assert second.exit_code == 1, second.describe()
    results = second.results_by_case()
    assert results["alpha"]["reused_from"] == first_id
    assert results["bravo"]["reused_from"] == first_id
    assert "reused_from" not in results["charlie"]  # it failed: always run again
    ran = {event["case_id"] for event in second.events()}
    assert ran == {"charlie"}

    # A changed case runs again; the unchanged ones still come from the history.
    set_case_steps(suite, "bravo", [*passing_steps("bravo"), {"log": "changed"}])
    third = harness.run(suite, "--db", "h.db", "--incremental")
    results = third.results_by_case()
    assert "reused_from" not in results["bravo"]
    assert results["bravo"]["status"] == "pass"
    assert results["alpha"]["reused_from"] == first_id
    assert {event["case_id"] for event in third.events()} == {"bravo", "charlie"}

    # So does everything after a change to the cassette.
    cassette = suite / "cassettes" / "lookup.jsonl"
    cassette.write_text(cassette.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    fourth = harness.run(suite, "--db", "h.db", "--incremental")
    assert not any("reused_from" in result for result in fourth.results())

    refreshed = harness.run(suite, "--db", "h.db", "--incremental", "--refresh-cache")
    assert not any("reused_from" in result for result in refreshed.results())


def test_memory_db_keeps_no_history(harness: Harness, tmp_path: Path) -> None:
    suite = make_suite(tmp_path / "suite")
    run = harness.run(suite, "--db", ":memory:")
    assert run.exit_code == 0, run.describe()
    assert not (tmp_path / ".harness").exists()
    default = harness.run(suite)
    assert default.exit_code == 0, default.describe()
    assert (tmp_path / ".harness" / "history.db").is_file()


def test_the_history_is_the_projects_whatever_the_cwd(harness: Harness, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    one = make_suite(project / "evals" / "one", name="one")
    two = make_suite(project / "evals" / "two", name="two")
    bravo = (two / "cases" / "bravo.yaml").read_text(encoding="utf-8")
    delta = bravo.replace("id: bravo", "id: delta")
    assert delta != bravo
    (two / "cases" / "delta.yaml").write_text(delta, encoding="utf-8")
    for cwd, suite in ((project, one), (project / "evals", two), (tmp_path, one)):
        harness.cwd = cwd
        assert harness.run(suite).exit_code == 0
    db = project / ".harness" / "history.db"
    assert db.is_file()
    assert not (project / "evals" / ".harness").exists()
    assert not (tmp_path / ".harness").exists()

    harness.cwd = project / "evals" / "one"
    every = command(harness, "history", "--json")
    assert every.exit_code == 0, every.describe()
    shown = json.loads(every.stdout)
    assert shown["db"] == str(db)
    assert {block["suite"]: len(block["runs"]) for block in shown["suites"]} == {"one": 2, "two": 1}
    (two_block,) = [block for block in shown["suites"] if block["suite"] == "two"]
    (run,) = two_block["runs"]
    assert (run["attempts"], run["passed"], run["pass_rate"]) == (4, 4, 1.0)
    assert [unit["case_id"] for unit in two_block["cases"]] == [
        "alpha",
        "bravo",
        "charlie",
        "delta",
    ]
    delta = two_block["cases"][3]
    assert (delta["runs"], delta["pass_rate"], delta["pass_trend"], delta["flips"]) == (
        1,
        1.0,
        [1.0],
        0,
    )

    # A case filter shows the suites that have the case, not an empty block for the others.
    only = command(harness, "history", "--case", "delta")
    assert only.exit_code == 0, only.describe()
    assert only.stdout.splitlines()[0] == "suite two: 1 run(s), oldest first"
    assert "suite one" not in only.stdout
    assert command(harness, "history", "--case", "nothing*").stdout == "no runs match\n"
