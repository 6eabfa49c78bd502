"""A sweep's statistics: per (case, model), per model, the model x case matrix, and summary.md.

Infrastructure errors that survived their retries are not trials: they are counted as lost and
left out of every estimator (see harness.stats). Each trial's outcome is one letter, in trial
order: P passed, F failed, B budget exceeded, E infrastructure error (lost), - did not run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from harness.plan import Completeness, Plan
from harness.results import (
    BUDGET_EXCEEDED,
    FAILED,
    INFRA_ERROR,
    PASS,
    PASSED,
    AttemptResult,
)
from harness.running import Reread, ValueTally
from harness.stats import mean, pass_at_k, pass_hat_k, trial_stats, wilson_interval

USAGE = ("tokens_in", "tokens_out", "cost_usd")
LETTERS = {PASSED: "P", FAILED: "F", BUDGET_EXCEEDED: "B", INFRA_ERROR: "E"}
ESTIMATORS = {
    "pass_rate": "c/n over the counted trials; infrastructure errors are not trials",
    "wilson_95": "Wilson score interval of the pass rate, 95%",
    "pass_at_k": "unbiased 1 - C(n-c,k)/C(n,k) (Chen et al. 2021); k = planned trials",
    "pass_hat_k": "unbiased C(c,k)/C(n,k) (tau-bench); k = planned trials",
    "pass_hat_k_plugin": "plug-in (c/n)^k, what Vally prints as pass^k; biased upward",
    "pass_at / pass_hat": "the unbiased estimators for every k from 1 to n",
    "flaky": "the counted trials disagree; minority_share = the rarer outcome's share",
    "stability": "Assay's split: flaky = first trial failed and last passed; unstable = any "
    "other mix; deterministic_pass / deterministic_fail / no_trials",
    "per_model": "macro averages over cases (each case weighs the same); pooled = all trials",
}


def outcome_of(result: AttemptResult) -> str:
    """The four-state outcome; results written before outcomes existed are mapped by status."""
    if result.outcome:
        return result.outcome
    return PASSED if result.status == PASS else FAILED


def sweep_summary(plan: Plan, results: Iterable[AttemptResult]) -> dict[str, Any]:
    """The `sweep` object of summary.json."""
    tally = SweepTally(plan)
    for result in results:
        tally.add(result)
    return tally.summary()


class SweepTally:
    """What `sweep_summary` needs, fed one result at a time: each trial's outcome letter and
    per-model usage. One byte a planned trial, plus a few numbers a model."""

    def __init__(self, plan: Plan, reread: Callable[[str | None], Reread] | None = None) -> None:
        """`reread(model)`: that model's wall_ms values again (see ValueTally)."""
        self.plan = plan
        self._reread = reread
        self.letters: dict[tuple[str, str | None], bytearray] = {}
        for attempt in plan.attempts:
            key = (attempt.case.id, attempt.model)
            if key not in self.letters:
                self.letters[key] = bytearray(b"-" * plan.runs)
        self.models: dict[str | None, ModelTally] = {}

    def add(self, result: AttemptResult) -> None:
        row = self.letters.get((result.case_id, result.model))
        index = (result.trial or 1) - 1
        if row is not None and 0 <= index < len(row):  # a later result for a trial wins
            row[index] = ord(LETTERS.get(outcome_of(result), "F"))
        model = self.models.get(result.model)
        if model is None:
            reread = self._reread(result.model) if self._reread else None
            model = self.models[result.model] = ModelTally(reread)
        model.add(result)

    def summary(self) -> dict[str, Any]:
        plan = self.plan
        cases = [
            case_row(case_id, model, row.decode(), plan.runs)
            for (case_id, model), row in self.letters.items()
        ]
        return {
            "models": list(plan.models),
            "runs": plan.runs,
            "k": plan.runs,
            "estimators": ESTIMATORS,
            "per_model": [
                model_row(model, cases, self.models.get(model) or ModelTally())
                for model in plan.models
            ],
            "cases": cases,
            "flaky_cases": [
                {"case_id": row["case_id"], "model": row["model"], "outcomes": row["outcomes"]}
                for row in cases
                if row["flaky"]
            ],
        }


class ModelTally:
    """One model's usage and wall times."""

    def __init__(self, reread: Reread | None = None) -> None:
        self.usage = {name: ValueTally(percentiles=False) for name in USAGE}
        self.wall_ms = ValueTally(reread=reread)

    def add(self, result: AttemptResult) -> None:
        for name, tally in self.usage.items():
            tally.add(getattr(result, name))
        self.wall_ms.add(result.wall_ms)


def case_row(case_id: str, model: str | None, letters: Sequence[str], runs: int) -> dict[str, Any]:
    counted = [letter == "P" for letter in letters if letter in "PFB"]
    stats = trial_stats(counted, planned=runs)
    return {
        "case_id": case_id,
        "model": model,
        "outcomes": "".join(letters),
        "planned": runs,
        "n": stats.n,
        "c": stats.c,
        "lost": letters.count("E"),
        "missing": letters.count("-"),
        "budget_exceeded": letters.count("B"),
        "pass_rate": stats.pass_rate,
        "wilson_95": list(stats.wilson_95) if stats.wilson_95 else None,
        "pass_at_k": stats.pass_at_k,
        "pass_hat_k": stats.pass_hat_k,
        "pass_hat_k_plugin": stats.pass_hat_k_plugin,
        # Every k the counted trials allow, as tau-bench prints pass^1..pass^4.
        "pass_at": KCurve(pass_at_k, stats.n, stats.c),
        "pass_hat": KCurve(pass_hat_k, stats.n, stats.c),
        "flaky": stats.flaky,
        "minority_share": stats.minority_share,
        "stability": stats.stability.value,
    }


class KCurve(Mapping[str, float | None]):
    """`{str(k): estimator(n, c, k) for k in 1..n}`, each value computed when read.

    A dict would hold 2n floats a row: 200 MB of them in a 100,000-attempt sweep of 100 cases.
    summary.json gets the dict itself (storage.runs encodes any Mapping as one); in memory it
    reads like one and compares equal to one.
    """

    __slots__ = ("_estimator", "c", "n")

    def __init__(self, estimator: Callable[[int, int, int], float | None], n: int, c: int) -> None:
        self._estimator, self.n, self.c = estimator, n, c

    def __getitem__(self, key: str) -> float | None:
        k = int(key) if isinstance(key, str) and key.isdigit() else 0
        if not 1 <= k <= self.n or key != str(k):
            raise KeyError(key)
        return self._estimator(self.n, self.c, k)

    def __iter__(self) -> Iterator[str]:
        return (str(k) for k in range(1, self.n + 1))

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return repr(dict(self))


def model_row(
    model: str | None, cases: Sequence[dict[str, Any]], tally: ModelTally
) -> dict[str, Any]:
    rows = [row for row in cases if row["model"] == model]
    n = sum(row["n"] for row in rows)
    c = sum(row["c"] for row in rows)
    interval = wilson_interval(n, c)
    return {
        "model": model,
        "cases": len(rows),
        "trials_planned": sum(row["planned"] for row in rows),
        "trials_counted": n,
        "passed": c,
        "failed": n - c - sum(row["budget_exceeded"] for row in rows),
        "budget_exceeded": sum(row["budget_exceeded"] for row in rows),
        "trials_lost": sum(row["lost"] for row in rows),
        "trials_missing": sum(row["missing"] for row in rows),
        "pass_rate": mean([row["pass_rate"] for row in rows]),
        "pass_rate_pooled": c / n if n else None,
        "wilson_95_pooled": list(interval) if interval else None,
        "pass_at_k": mean([row["pass_at_k"] for row in rows]),
        "pass_hat_k": mean([row["pass_hat_k"] for row in rows]),
        "pass_hat_k_plugin": mean([row["pass_hat_k_plugin"] for row in rows]),
        "flaky_cases": sum(1 for row in rows if row["flaky"]),
        "usage": usage_totals(tally),
        "wall_ms": tally.wall_ms.summary(),
    }


def usage_totals(tally: ModelTally) -> dict[str, Any]:
    """Usage as agents reported it (a `usage` message or `final_output.usage`), per model."""
    totals: dict[str, Any] = {}
    for name, values in tally.usage.items():
        totals[f"{name}_total"] = values.total if values.count else None
        totals[f"{name}_mean"] = values.mean()
        totals[f"{name}_reported"] = values.count
    return totals


# summary.md ---------------------------------------------------------------------------------


def render_markdown(suite_name: str, sweep: dict[str, Any], completeness: Completeness) -> str:
    k = sweep["k"]
    lines = [f"# Sweep: {_md(suite_name)}", "", f"{completeness.sentence()}.", ""]
    lines += [
        "## Models",
        "",
        f"| model | cases | trials | passed | pass rate (macro) | pooled, 95% Wilson "
        f"| pass@{k} | pass^{k} | pass^{k} plug-in | flaky cases | lost | tokens out | cost $ |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in sweep["per_model"]:
        usage = row["usage"]
        lines.append(
            f"| {_model(row['model'])} | {row['cases']} | {row['trials_counted']} "
            f"| {row['passed']} | {_pct(row['pass_rate'])} "
            f"| {_pct(row['pass_rate_pooled'])} {_interval(row['wilson_95_pooled'])} "
            f"| {_num(row['pass_at_k'])} | {_num(row['pass_hat_k'])} "
            f"| {_num(row['pass_hat_k_plugin'])} | {row['flaky_cases']} | {row['trials_lost']} "
            f"| {_num(usage['tokens_out_total'], 0)} | {_num(usage['cost_usd_total'], 4)} |"
        )
    models = sweep["models"]
    lines += ["", "## Model x case", "", "Cell: passed/trials, then each trial's outcome "]
    lines[-1] += "(P pass, F fail, B budget, E infrastructure error, - not run); ~ flaky."
    lines += ["", "| case | " + " | ".join(_model(m) for m in models) + " |"]
    lines.append("|---|" + "---|" * len(models))
    cells = {(row["case_id"], row["model"]): row for row in sweep["cases"]}
    for case_id in dict.fromkeys(row["case_id"] for row in sweep["cases"]):
        shown = [_cell(cells.get((case_id, model))) for model in models]
        lines.append(f"| {_md(case_id)} | " + " | ".join(shown) + " |")
    lines += ["", "## Flaky cases", ""]
    flaky = [row for row in sweep["cases"] if row["flaky"]]
    if not flaky:
        lines.append("None: every (case, model) agreed with itself across its trials.")
    else:
        lines += [
            f"| case | model | outcomes | minority share | class | pass@{k} | pass^{k} |",
            "|---|---|---|---:|---|---:|---:|",
        ]
        lines += [
            f"| {_md(row['case_id'])} | {_model(row['model'])} | `{row['outcomes']}` "
            f"| {_pct(row['minority_share'])} | {row['stability']} | {_num(row['pass_at_k'])} "
            f"| {_num(row['pass_hat_k'])} |"
            for row in flaky
        ]
    lines += ["", "## Estimators", ""]
    lines += [f"- `{name}`: {text}" for name, text in ESTIMATORS.items()]
    return "\n".join(lines) + "\n"


def _cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return "–"
    mark = " ~" if row["flaky"] else ""
    return f"{row['c']}/{row['n']} `{row['outcomes']}`{mark}"


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _model(model: str | None) -> str:
    return "(no model)" if model is None else _md(model)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _num(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def _interval(value: Sequence[float] | None) -> str:
    return "" if not value else f"[{value[0]:.0%}, {value[1]:.0%}]"


# Console ------------------------------------------------------------------------------------

MATRIX_MAX_CELLS = 400  # beyond this the matrix is only in summary.md


def console_tables(sweep: dict[str, Any]) -> list[Any]:
    """Rich tables for the end of a sweep: per model, then the model x case matrix."""
    from rich.table import Table
    from rich.text import Text

    k = sweep["k"]
    models = Table(title="Models", expand=False)
    for name in ("model", "trials", "passed", "pass rate", "95% Wilson (pooled)"):
        models.add_column(name, justify="left" if name == "model" else "right")
    for name in (f"pass@{k}", f"pass^{k}", f"pass^{k} plug-in", "flaky", "lost", "cost $"):
        models.add_column(name, justify="right")
    for row in sweep["per_model"]:
        models.add_row(
            Text(_model(row["model"]) if row["model"] is not None else "(no model)"),
            str(row["trials_counted"]),
            str(row["passed"]),
            _pct(row["pass_rate"]),
            _interval(row["wilson_95_pooled"]) or "–",
            _num(row["pass_at_k"]),
            _num(row["pass_hat_k"]),
            _num(row["pass_hat_k_plugin"]),
            str(row["flaky_cases"]),
            str(row["trials_lost"]),
            _num(row["usage"]["cost_usd_total"], 4),
        )
    tables: list[Any] = [models]
    names = sweep["models"]
    if len(sweep["cases"]) <= MATRIX_MAX_CELLS:
        matrix = Table(title="Model x case (passed/trials, outcomes; ~ flaky)", expand=False)
        matrix.add_column("case")
        for model in names:
            matrix.add_column(Text("(no model)" if model is None else model))
        cells = {(row["case_id"], row["model"]): row for row in sweep["cases"]}
        for case_id in dict.fromkeys(row["case_id"] for row in sweep["cases"]):
            shown = [_cell(cells.get((case_id, model))).replace("`", "") for model in names]
            matrix.add_row(Text(case_id), *(Text(cell) for cell in shown))
        tables.append(matrix)
    return tables
