"""`harness history`: pass-rate and metric trends per case (and model) over past runs, as a
terminal sparkline table or as JSON, with cases that flip often flagged."""

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
    as_json: flags.Json = False,
) -> None:
    """Show trends over the latest runs. Exit 0, or 2 when the database cannot be read."""
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    import json
    from pathlib import Path

    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from harness.errors import UsageError
    from harness.storage.history import MEMORY, History, resolve_db

    if limit < 1:
        raise UsageError("--limit must be at least 1")
    path = resolve_db(db, Path.cwd())
    if path != MEMORY and not Path(path).exists():
        raise UsageError(f"{path}: no history yet; runs write it (see --db)")
    with History.open(path) as history:
        names = [suite] if suite else history.suites()
        blocks = [_suite_trend(history, name, tuple(case or ()), model, limit) for name in names]
    # A filter that matches nothing in a suite leaves that suite out, not an empty block.
    filtered = bool(case or model)
    shown = [block for block in blocks if block["cases"] or not filtered]
    if as_json:
        print(json.dumps({"db": path, "suites": shown}, indent=2))
    elif not shown:
        print("no runs match" if blocks else "no runs recorded")
    for block in shown if not as_json else ():
        _print_suite(block)


def _suite_trend(
    history: Any, suite: str, cases: tuple[str, ...], model: str | None, limit: int
) -> dict[str, Any]:
    """One suite's runs (oldest first) and, per case and model, a value per run."""
    runs = history.runs(suite, limit=limit)
    run_ids = [run["run_id"] for run in runs]
    flaky = history.flaky_cases(suite)
    units: dict[tuple[str, str | None], dict[str, list[dict[str, Any]]]] = {}
    for row in history.results_of(run_ids, model=model):
        if cases and not any(fnmatch.fnmatchcase(row["case_id"], glob) for glob in cases):
            continue
        per_run = units.setdefault((row["case_id"], row["model"]), {})
        per_run.setdefault(row["run_id"], []).append(row)
    rows = [
        _unit_trend(case_id, model_name, [by_run.get(run_id) for run_id in run_ids], flaky)
        for (case_id, model_name), by_run in sorted(
            units.items(), key=lambda i: (i[0][0], i[0][1] or "")
        )
    ]
    return {
        "suite": suite,
        "runs": [
            {
                "run_id": run["run_id"],
                "started_at": run["started_at"],
                "git_sha": run["git_sha"],
                "attempts": run["attempts"],
                "passed": run["passed"],
                "pass_rate": _ratio(run["passed"], run["attempts"]),
            }
            for run in runs
        ],
        "cases": rows,
    }


def _unit_trend(
    case_id: str,
    model: str | None,
    per_run: list[list[dict[str, Any]] | None],
    flaky: dict[str, str],
) -> dict[str, Any]:
    passes = [None if rows is None else _pass_share(rows) for rows in per_run]
    present = [p for p in passes if p is not None]
    return {
        "case_id": case_id,
        "model": model,
        "runs": len(present),
        "pass_rate": sum(present) / len(present) if present else None,
        "pass_trend": passes,
        "flips": sum(1 for a, b in itertools.pairwise(present) if (a == 1) != (b == 1)),
        "flaky": flaky.get(case_id),
        "wall_ms_trend": [None if rows is None else _mean(rows, "wall_ms") for rows in per_run],
        "tool_calls_trend": [
            None if rows is None else _mean(rows, "tool_calls") for rows in per_run
        ],
    }


def _print_suite(block: dict[str, Any]) -> None:
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from harness.cli.console import echo

    runs = block["runs"]
    rates = [run["pass_rate"] for run in runs]
    echo(f"suite {block['suite']}: {len(runs)} run(s), oldest first")
    first, last = runs[0]["run_id"], runs[-1]["run_id"]
    print(
        f"  pass rate  {spark(rates)}  {_pct(rates[0])} -> {_pct(rates[-1])}  ({first} .. {last})"
    )
    if not block["cases"]:
        print("  no results match")
        return
    header = f"  {'case':<28} {'model':<14} {'runs':>4} {'pass':>6}  {'trend':<{len(runs)}}  flips"
    print(header + "  wall ms trend        tool calls")
    for unit in block["cases"]:
        walls, calls = unit["wall_ms_trend"], unit["tool_calls_trend"]
        mark = "  FLAKY: " + unit["flaky"] if unit["flaky"] else ""
        mark += "  (flips often)" if unit["flips"] >= 2 and not mark else ""
        latest_calls = next((c for c in reversed(calls) if c is not None), None)
        echo(
            f"  {unit['case_id']:<28} {unit['model'] or '-':<14} {unit['runs']:>4} "
            f"{_pct(unit['pass_rate']):>6}  {spark(unit['pass_trend'])}  {unit['flips']:>5}  "
            f"{spark(scaled(walls)):<{len(runs)}} {_num(walls[-1]):>6}  {_num(latest_calls):>5}"
            f"{mark}"
        )


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


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _pass_share(rows: list[dict[str, Any]]) -> float:
    return float(sum(row["status"] == "pass" for row in rows) / len(rows))


def _mean(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [row[key] for row in rows if row[key] is not None and row.get("reused_from") is None]
    return round(sum(values) / len(values), 3) if values else None


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"
