"""`harness history`: pass-rate and metric trends per case (and model) over past runs, as a
terminal sparkline table, with cases that flip often flagged."""

from __future__ import annotations

import fnmatch
import itertools
from typing import Annotated, Any

import typer

from harness.cli import flags

BLOCKS = "▁▂▃▄▅▆▇█"
NOT_RUN = "·"


def history_command(
    case: flags.Case = None,
    model: Annotated[str | None, typer.Option("--model", help="Only this model.")] = None,
    suite: Annotated[str | None, typer.Option("--suite", help="Only this suite name.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="How many recent runs (default 20).")] = 20,
    db: flags.Db = flags.DEFAULT_DB,
) -> None:
    """Show trends over the latest runs. Exit 0, or 2 when the database cannot be read."""
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from pathlib import Path

    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from harness.errors import UsageError
    from harness.storage.history import MEMORY, History

    if limit < 1:
        raise UsageError("--limit must be at least 1")
    if db != MEMORY and not Path(db).exists():
        raise UsageError(f"{db}: no history yet; runs write it (see --db)")
    with History.open(db) as history:
        suites = [suite] if suite else _suites(history)
        if not suites:
            print("no runs recorded")
        for name in suites:
            _print_suite(history, name, tuple(case or ()), model, limit)


def _suites(history: Any) -> list[str]:
    rows = history.db.execute("SELECT DISTINCT suite FROM runs ORDER BY suite").fetchall()
    return [row[0] for row in rows]


def spark(values: list[float | None]) -> str:
    """One block per value in [0, 1]; `·` where there is none."""
    return "".join(
        NOT_RUN if v is None else BLOCKS[min(int(v * (len(BLOCKS) - 1) + 0.5), len(BLOCKS) - 1)]
        for v in values
    )


def scaled(values: list[float | None]) -> list[float | None]:
    present = [v for v in values if v is not None]
    if not present:
        return values
    low, high = min(present), max(present)
    span = (high - low) or 1.0
    return [None if v is None else (v - low) / span for v in values]


def _print_suite(
    history: Any, suite: str, cases: tuple[str, ...], model: str | None, limit: int
) -> None:
    runs = history.runs(suite, limit=limit)
    run_ids = [run["run_id"] for run in runs]
    results = [
        row
        for row in history.results_of(run_ids, model=model)
        if not cases or any(fnmatch.fnmatchcase(row["case_id"], glob) for glob in cases)
    ]
    flaky = history.flaky_cases(suite)
    rates = [run["passed"] / run["attempts"] if run["attempts"] else None for run in runs]
    print(f"suite {suite}: {len(runs)} run(s), oldest first")
    first, last = runs[0]["run_id"], runs[-1]["run_id"]
    print(
        f"  pass rate  {spark(rates)}  {_pct(rates[0])} -> {_pct(rates[-1])}  ({first} .. {last})"
    )
    units: dict[tuple[str, str | None], dict[str, list[dict[str, Any]]]] = {}
    for row in results:
        units.setdefault((row["case_id"], row["model"]), {}).setdefault(row["run_id"], []).append(
            row
        )
    if not units:
        print("  no results match")
        return
    header = f"  {'case':<28} {'model':<14} {'runs':>4} {'pass':>6}  {'trend':<{len(runs)}}  flips"
    print(header + "  wall ms trend        tool calls")
    for (case_id, model_name), by_run in sorted(
        units.items(), key=lambda i: (i[0][0], i[0][1] or "")
    ):
        per_run = [by_run.get(run_id) for run_id in run_ids]
        passes = [None if rows is None else _pass_share(rows) for rows in per_run]
        present = [p for p in passes if p is not None]
        flips = sum(1 for a, b in itertools.pairwise(present) if (a == 1) != (b == 1))
        walls = [None if rows is None else _mean(rows, "wall_ms") for rows in per_run]
        calls = [None if rows is None else _mean(rows, "tool_calls") for rows in per_run]
        rate = sum(present) / len(present) if present else None
        mark = "  FLAKY: " + flaky[case_id] if case_id in flaky else ""
        mark += "  (flips often)" if flips >= 2 and not mark else ""
        latest_calls = next((c for c in reversed(calls) if c is not None), None)
        print(
            f"  {case_id:<28} {model_name or '-':<14} {len(present):>4} {_pct(rate):>6}  "
            f"{spark(passes)}  {flips:>5}  {spark(scaled(walls)):<{len(runs)}} "
            f"{_num(walls[-1]):>6}  {_num(latest_calls):>5}{mark}"
        )


def _pass_share(rows: list[dict[str, Any]]) -> float:
    return float(sum(row["status"] == "pass" for row in rows) / len(rows))


def _mean(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [row[key] for row in rows if row[key] is not None and row.get("reused_from") is None]
    return sum(values) / len(values) if values else None


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"
