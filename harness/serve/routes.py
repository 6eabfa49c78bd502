"""The Results API's run routes (Vally's `/api/runs`, `/outcomes`, `/matrix`, plus one run, one
attempt and the live tail). Each takes the server's state and a request's parameters and
returns plain JSON values; app.py turns them into responses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from harness.serve.attempts import (
    attempts_page,
    find_result,
    result_view,
    row_view,
    stderr_tail,
    transcript,
)
from harness.serve.cards import TRACE_FILE, Run
from harness.serve.filters import FilterError, Filters
from harness.serve.lines import file_size, scan_rows
from harness.serve.matrix import METRICS, SORTS, build_matrix, descriptor, matching_groups
from harness.serve.search import matching_keys
from harness.serve.state import ApiError, ServeState, bad_parameter, int_param, page_param, paged

TAIL_MAX_ROWS = 500
RUN_STATUSES = ("running", "passed", "failed", "error", "interrupted")


def runs_list(state: ServeState, params: Mapping[str, str]) -> dict[str, Any]:
    suite, status = params.get("suite") or None, params.get("status") or None
    if status is not None and status not in RUN_STATUSES:
        raise bad_parameter("status", f"expected one of {', '.join(RUN_STATUSES)}")
    page = page_param(params)
    refs = [ref for ref in state.index.runs() if suite is None or ref.suite == suite]
    if status is not None:
        refs = [ref for ref in refs if state.card(ref)["status"] == status]
    number, size = page
    chosen = refs[(number - 1) * size : number * size]
    items = []
    for ref in chosen:
        card = dict(state.card(ref))
        # The suite's own history, whatever the list is filtered by.
        suite_runs = (r for r in state.index.runs() if r.suite == ref.suite)
        earlier = [r for r in suite_runs if r.started_at <= ref.started_at][:12]
        card["trend"] = [state.card(r)["pass_rate"] for r in reversed(earlier)]
        items.append(card)
    suites = sorted({ref.suite for ref in state.index.runs()})
    return paged(items, len(refs), page, suites=suites)


def _facets(run: Run) -> dict[str, Any]:
    """What the run page's filters offer: models, statuses, reasons, graders and tags."""
    tally = run.tally.feed()
    tags: dict[str, set[str]] = {}
    for case_tags in (run.document().get("case_tags") or {}).values():
        for key, value in case_tags.items():
            tags.setdefault(key, set()).add(value)
    return {
        "models": run.models(),
        "statuses": dict(tally.statuses),
        "reasons": dict(tally.reasons.most_common()),
        "graders": sorted(tally.graders),
        "failing_graders": {k: v for k, v in tally.graders.most_common() if v},
        "tags": {key: sorted(values) for key, values in sorted(tags.items())},
    }


def _by_model(run: Run) -> list[dict[str, Any]]:
    """Pass rate, mean wall time and cost per model, in the plan's order of models."""
    sums: dict[str | None, list[float]] = {}  # attempts, passed, counted, wall, cost, costed
    for (_, model), cell in run.tally.feed().cells.items():
        total = sums.setdefault(model, [0, 0, 0, 0, 0.0, 0])
        for index, value in enumerate(
            (cell.attempts, cell.c, cell.n, cell.wall_ms, cell.cost_usd, cell.costed)
        ):
            total[index] += value
    order = {model: index for index, model in enumerate(run.models())}
    return [
        {
            "model": model,
            "attempts": int(t[0]),
            "pass_rate": t[1] / t[2] if t[2] else None,
            "mean_wall_ms": t[3] / t[0] if t[0] else None,
            "cost_usd": t[4] if t[5] else None,
        }
        for model, t in sorted(sums.items(), key=lambda item: order.get(item[0] or "", 0))
    ]


def run_detail(state: ServeState, run_id: str) -> dict[str, Any]:
    run = state.run(run_id)
    card = state.card(run.ref)
    doc = run.document()
    gate = run.gate() if not card["live"] else None
    previous = state.index.previous(run.ref)
    return {
        **card,
        "argv": doc.get("argv"),
        "versions": doc.get("versions"),
        "suite_path": doc.get("suite_path"),
        "offset": run.tally.feed().offset,
        "facets": _facets(run),
        "by_model": _by_model(run),
        "gate": msgspec.to_builtins(gate) if gate else None,
        "previous_run": previous.run_id if previous else None,
        "metrics": [descriptor(name) for name in METRICS],
    }


def _filters(run: Run, params: Mapping[str, str]) -> tuple[Filters, Any]:
    try:
        filters = Filters.parse(params)
    except FilterError as exc:
        raise bad_parameter(exc.field, str(exc)) from None
    found = None
    if filters.q is not None:
        found = matching_keys(run.path / TRACE_FILE, run.results_path, filters.q)
    tags = run.document().get("case_tags") or {}
    return filters, filters.predicate(tags, found)


def outcomes(state: ServeState, run_id: str, params: Mapping[str, str]) -> dict[str, Any]:
    run = state.run(run_id)
    page = page_param(params)
    _, matches = _filters(run, params)
    total, items = attempts_page(run.results_path, matches, page)
    return paged(items, total, page, run_id=run_id)


def matrix(state: ServeState, run_id: str, params: Mapping[str, str]) -> dict[str, Any]:
    run = state.run(run_id)
    metric = params.get("metric") or "pass_rate"
    if metric not in METRICS:
        raise bad_parameter("metric", f"expected one of {', '.join(METRICS)}")
    sort = params.get("sort") or "worst"
    if sort not in SORTS:
        raise bad_parameter("sort", f"expected one of {', '.join(SORTS)}")
    page = page_param(params)
    filters, matches = _filters(run, params)
    tally = run.tally.feed()
    only = matching_groups(run.results_path, matches) if filters.active else None
    models: list[str | None] = [*run.models()] or [None]
    if filters.model is not None:
        models = [filters.model]
    built = build_matrix(
        tally,
        models=models,
        k=run.trials,
        metric=metric,
        sort=sort,
        only=only,
        tags=run.document().get("case_tags") or {},
        page=page,
    )
    rows = built.pop("rows")
    return paged(rows, built.pop("total"), page, run_id=run_id, **built)


def attempt(state: ServeState, run_id: str, key: str) -> dict[str, Any]:
    run = state.run(run_id)
    result = find_result(run.results_path, key)
    if result is None:
        raise ApiError(404, "attempt_not_found", f"run {run_id} has no attempt {key!r}")
    doc = run.document()
    return {
        "run_id": run_id,
        "suite": run.ref.suite,
        "mode": doc.get("mode"),
        "result": result_view(result),
        "transcript": transcript(run.path, result),
        "stderr": stderr_tail(run.path, result),
        "budgets": (doc.get("case_budgets") or {}).get(result.case_id, {}),
        "tags": (doc.get("case_tags") or {}).get(result.case_id, {}),
        "source": (doc.get("case_sources") or {}).get(result.case_id),
    }


def tail(state: ServeState, run_id: str, params: Mapping[str, str]) -> dict[str, Any]:
    """Attempts whose lines were completed past byte `offset`, at most TAIL_MAX_ROWS of them;
    `offset` in the answer is where the next poll starts."""
    run = state.run(run_id)
    offset = int_param(params, "offset", 0, 0, 1 << 50)
    size = file_size(run.results_path)
    if offset > size:
        raise bad_parameter("offset", "past the end of results.jsonl (was it replaced?)")
    rows: list[dict[str, Any]] = []
    end = offset
    for _, stop, row in scan_rows(run.results_path, offset):
        if len(rows) == TAIL_MAX_ROWS:
            break
        if row is not None:
            rows.append(row_view(row))
        end = stop
    return {
        "run_id": run_id,
        "offset": end,
        "more": end < size and len(rows) == TAIL_MAX_ROWS,
        "items": rows,
        "card": state.card(run.ref),
    }


def tail_etag(state: ServeState, run_id: str, params: Mapping[str, str]) -> str:
    """What the tail's answer depends on: results.jsonl's size, the summary's presence, run.json
    and the client's offset. A poll with this ETag gets 304 without reading anything."""
    run = state.run(run_id)
    stamp = f"{file_size(run.results_path)}-{int(run.live)}-{file_size(run.path / 'run.json')}"
    return f'"{stamp}-{params.get("offset") or 0}"'
