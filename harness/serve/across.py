"""The Results API's routes across runs: `/api/compare?base=&head=` and
`/api/cases/{id}/history`."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from harness.serve.compare import CATEGORIES, DEFAULT_ALPHA, compare
from harness.serve.history import (
    DEFAULT_RUNS,
    MAX_RUNS,
    Trial,
    database_trials,
    flakiness,
    folder_trials,
    open_read_only,
    per_run,
)
from harness.serve.index import RunRef
from harness.serve.state import ApiError, ServeState, bad_parameter, int_param, page_param, paged


def default_base(state: ServeState, head: RunRef) -> tuple[RunRef | None, str]:
    """The gate's baseline when it is a run the server knows, else the previous run."""
    baseline = state.runs.of(head).document().get("baseline")
    if isinstance(baseline, str):
        with contextlib.suppress(OSError, msgspec.DecodeError):
            data = msgspec.json.decode(Path(baseline).read_bytes())
            run_id = (data.get("run") or {}).get("run_id") if isinstance(data, dict) else None
            ref = state.index.get(run_id) if isinstance(run_id, str) else None
            if ref is not None and ref.run_id != head.run_id:
                return ref, "baseline"
    previous = state.index.previous(head)
    return previous, "previous_run"


def compare_runs(state: ServeState, params: Mapping[str, str]) -> dict[str, Any]:
    head_id = params.get("head")
    if not head_id:
        refs = state.index.runs()
        if not refs:
            raise ApiError(404, "run_not_found", "no runs under the served folder")
        head = refs[0]
    else:
        head = state.ref(head_id)
    base_id = params.get("base")
    if base_id:
        base, chosen_by = state.ref(base_id), "request"
    else:
        found, chosen_by = default_base(state, head)
        if found is None:
            raise ApiError(
                404, "no_base_run", f"run {head.run_id} has no earlier run to compare with"
            )
        base = found
    category = params.get("category") or None
    if category is not None and category not in CATEGORIES:
        raise bad_parameter("category", f"expected one of {', '.join(CATEGORIES)}")
    page = page_param(params)
    head_run, base_run = state.runs.of(head), state.runs.of(base)
    significance = _significance(head_run.document(), params)
    result = compare(base_run.tally.feed(), head_run.tally.feed(), **significance)
    units = [u for u in result.pop("units") if category is None or u["category"] == category]
    order = {name: index for index, name in enumerate(CATEGORIES)}
    units.sort(key=lambda u: order[u["category"]])
    number, size = page
    chosen = units[(number - 1) * size : number * size]
    return paged(
        chosen,
        len(units),
        page,
        base=state.card(base),
        head=state.card(head),
        base_chosen_by=chosen_by,
        **result,
    )


def _significance(doc: dict[str, Any], params: Mapping[str, str]) -> dict[str, float]:
    alpha = DEFAULT_ALPHA
    text = params.get("alpha")
    if text:
        try:
            alpha = float(text)
        except ValueError:
            raise bad_parameter("alpha", "expected a number") from None
        if not 0 < alpha < 1:
            raise bad_parameter("alpha", "expected a number between 0 and 1")
    return {"alpha": alpha, "min_drop": 0.0}


def case_history(state: ServeState, case_id: str, params: Mapping[str, str]) -> dict[str, Any]:
    suite, model = params.get("suite") or None, params.get("model") or None
    runs = int_param(params, "runs", DEFAULT_RUNS, 1, MAX_RUNS)
    trials: list[Trial] = []
    known: set[str] = set()
    db = open_read_only(state.db_path) if state.db_path is not None else None
    if db is not None:
        try:
            trials = database_trials(db, case_id, suite, model, runs)
        finally:
            db.close()
        known = {trial.run_id for trial in trials}
    refs = [r for r in state.index.runs() if suite is None or r.suite == suite]
    for ref in refs[:runs]:
        if ref.run_id in known:
            continue
        doc = state.runs.of(ref).document()
        trials += folder_trials(ref, doc.get("git_sha"), case_id, model)
    entries = per_run(trials)[-runs:]
    if not entries:
        raise ApiError(404, "case_not_found", f"no run has a case {case_id!r}")
    by_id = {ref.run_id: ref for ref in refs}
    for entry in entries:
        known_ref = by_id.get(entry["run_id"])
        entry["in_index"] = known_ref is not None
        if known_ref is not None and entry["mean_score"] is None:  # the database keeps no scores
            cell = state.runs.of(known_ref).tally.feed().cells.get((case_id, entry["model"]))
            if cell is not None and cell.scored:
                entry["mean_score"] = cell.score / cell.scored
    return paged(
        entries,
        len(entries),
        (1, runs),
        case_id=case_id,
        suite=suite,
        model=model,
        database=db is not None,
        flakiness=flakiness(entries),
    )
