"""The case x model matrix of one run: every cell's statistics, one metric chosen for display,
filtered, sorted and cut into pages of cases.

Metric descriptors say what a number means (unit, which direction is better, how it was
aggregated over the cell's trials), as Vally's Results API does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from harness.serve.lines import Row, iter_rows
from harness.serve.tally import Cell, Group, RunTally

METRICS: dict[str, dict[str, str]] = {
    "pass_rate": {
        "unit": "ratio",
        "direction": "higher_is_better",
        "aggregation": "passed / counted trials (infrastructure errors are no trials)",
        "label": "pass rate",
    },
    "pass_at_k": {
        "unit": "ratio",
        "direction": "higher_is_better",
        "aggregation": "unbiased pass@k, k = planned trials: 1 - C(n-c,k)/C(n,k)",
        "label": "pass@k",
    },
    "pass_hat_k": {
        "unit": "ratio",
        "direction": "higher_is_better",
        "aggregation": "unbiased pass^k, k = planned trials: C(c,k)/C(n,k)",
        "label": "pass^k",
    },
    "mean_wall_ms": {
        "unit": "ms",
        "direction": "lower_is_better",
        "aggregation": "mean over attempts",
        "label": "wall time",
    },
    "cost_usd": {
        "unit": "usd",
        "direction": "lower_is_better",
        "aggregation": "sum over attempts that reported a cost",
        "label": "cost",
    },
    "mean_score": {
        "unit": "score",
        "direction": "higher_is_better",
        "aggregation": "mean weighted grader score over attempts that have one",
        "label": "score",
    },
}
SORTS = ("worst", "case", "flaky", "slowest", "cost")


def descriptor(name: str) -> dict[str, str]:
    return {"name": name, **METRICS[name]}


def matching_groups(path: Any, matches: Callable[[Row], bool]) -> set[Group]:
    """The (case, model) cells with at least one attempt that `matches`, streamed."""
    return {(row.case_id, row.model) for _, _, row in iter_rows(path) if matches(row)}


def _sort_key(sort: str, k: int) -> Callable[[tuple[str, list[Cell | None]]], Any]:
    def worst(item: tuple[str, list[Cell | None]]) -> Any:
        rates = [c.c / c.n for c in item[1] if c is not None and c.n]
        return (min(rates) if rates else 2.0, item[0])

    def flaky(item: tuple[str, list[Cell | None]]) -> Any:
        return (not any(c is not None and 0 < c.c < c.n for c in item[1]), *worst(item))

    def slowest(item: tuple[str, list[Cell | None]]) -> Any:
        return (
            -max((c.wall_ms / c.attempts for c in item[1] if c and c.attempts), default=0),
            item[0],
        )

    def cost(item: tuple[str, list[Cell | None]]) -> Any:
        return (-sum(c.cost_usd for c in item[1] if c is not None), item[0])

    keys = {"worst": worst, "flaky": flaky, "slowest": slowest, "cost": cost}
    return keys.get(sort, lambda item: item[0])


def build_matrix(
    tally: RunTally,
    *,
    models: list[str | None],
    k: int,
    metric: str,
    sort: str,
    only: set[Group] | None,
    tags: dict[str, dict[str, str]],
    page: tuple[int, int],
) -> dict[str, Any]:
    """One page of rows. `only` keeps the cells a filter matched (None: every cell)."""
    by_case: dict[str, list[Cell | None]] = {}
    for (case_id, model), cell in tally.cells.items():
        if only is not None and (case_id, model) not in only:
            continue
        if model not in models:
            continue
        row = by_case.setdefault(case_id, [None] * len(models))
        row[models.index(model)] = cell
    ordered = sorted(by_case.items(), key=_sort_key(sort, k))
    number, size = page
    chosen = ordered[(number - 1) * size : number * size]
    return {
        "metric": descriptor(metric),
        "models": models,
        "k": k,
        "total": len(ordered),
        "rows": [_row(case_id, cells, k, metric, tags) for case_id, cells in chosen],
    }


def _row(
    case_id: str, cells: Iterable[Cell | None], k: int, metric: str, tags: dict[str, dict[str, str]]
) -> dict[str, Any]:
    shown: list[dict[str, Any] | None] = []
    for cell in cells:
        if cell is None:
            shown.append(None)
            continue
        stats = cell.stats(k)
        shown.append({"value": stats[metric], **stats})
    return {"case_id": case_id, "tags": tags.get(case_id, {}), "cells": shown}
