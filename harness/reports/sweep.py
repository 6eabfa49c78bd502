"""summary.md and the console's tables for a sweep (the statistics: harness.aggregate.sweep)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.aggregate.completeness import Completeness
from harness.aggregate.sweep import ESTIMATORS
from harness.excerpts import for_terminal

# summary.md ---------------------------------------------------------------------------------


def render_sweep_markdown(
    suite_name: str, sweep: dict[str, Any], completeness: Completeness
) -> str:
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
    # lazy: rich loads only when the console shows sweep tables
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
            Text(for_terminal(_model(row["model"]) if row["model"] is not None else "(no model)")),
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
            matrix.add_column(Text("(no model)" if model is None else for_terminal(model)))
        cells = {(row["case_id"], row["model"]): row for row in sweep["cases"]}
        for case_id in dict.fromkeys(row["case_id"] for row in sweep["cases"]):
            shown = [_cell(cells.get((case_id, model))).replace("`", "") for model in names]
            matrix.add_row(Text(for_terminal(case_id)), *(Text(cell) for cell in shown))
        tables.append(matrix)
    return tables
