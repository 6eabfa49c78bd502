"""Running an experiment plan: every (eval × variant) through one Runner, so one shared worker
pool interleaves the variants (a slow variant blocks none, and time-of-day drift hits every
variant alike); each variant's records, run-summary.jsonl and session logs in its own folder;
report.md at the top, with the pairwise comparison against the baseline when asked."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from harness.errors import EXIT_FAILED, EXIT_INFRA, EXIT_INTERRUPTED, EXIT_OK
from harness.storage.atomic import atomic_write
from harness.storage.runs import safe_name
from harness.vally.compare import compare_runs
from harness.vally.documents import escape
from harness.vally.evaluation import finish, iter_records
from harness.vally.executors import Executor
from harness.vally.experiment import ExperimentPlan, provenance
from harness.vally.outputs import RESULTS, Sink, create_run_folder, point_latest
from harness.vally.planning import Settings, Unit
from harness.vally.runner import RunEvents, Runner
from harness.vally.tallies import Tallies


@dataclass
class ExperimentReport:
    exit_code: int
    run_dir: Path
    tallies: Tallies
    comparisons: dict[str, dict[str, Any]]
    interrupted: bool = False


async def run_experiment(
    plan: ExperimentPlan,
    executors: Mapping[tuple[str, str], Executor],
    settings: Settings,
    *,
    output_dir: Path,
    events: RunEvents,
    compare: bool,
) -> ExperimentReport:
    root = create_run_folder(output_dir)
    sinks = {variant.name: Sink(root / safe_name(variant.name)) for variant in plan.variants}
    units = [
        Unit(
            spec,
            executors[(variant.name, spec.name)],
            sinks[variant.name],
            variant=variant.name,
            experiment=provenance(plan, variant, spec, root.name),
        )
        for variant in plan.variants
        for spec in variant.specs
    ]
    runner = Runner(units, settings, run_id=root.name, events=events, log_dir=root / "tools")
    outcome = await runner.run(handle_signals=True)
    tallies = outcome.tallies
    for variant in plan.variants:
        sink = sinks[variant.name]
        own = dataclasses.replace(outcome, tallies=_only(tallies, variant.name))
        finish(sink, own, title=f"{plan.name}: {variant.name}", junit=False)
        rows = own.tallies.summary()["stimuli"]
        lines = b"".join(msgspec.json.encode(row) + b"\n" for row in rows)
        sink.write_document("run-summary.jsonl", lines)
    comparisons = {}
    if compare and not outcome.interrupted:
        comparisons = await _compare(plan, sinks, settings)
    atomic_write(root / "report.md", render_report(plan, tallies, comparisons).encode())
    for sink in sinks.values():
        sink.close()
    point_latest(output_dir, root)
    return ExperimentReport(
        _exit(outcome.interrupted, tallies), root, tallies, comparisons, outcome.interrupted
    )


def _only(tallies: Tallies, variant: str) -> Tallies:
    own = Tallies()
    own.by_key = {key: tally for key, tally in tallies.by_key.items() if key[1] == variant}
    return own


def _exit(interrupted: bool, tallies: Tallies) -> int:
    """Vally's experiment: 0 when every trial passed, else 1 (130 interrupted, 3 when a
    planned trial has no record though the run was not stopped)."""
    if interrupted:
        return EXIT_INTERRUPTED
    if not tallies.complete():
        return EXIT_INFRA
    return EXIT_OK if all(tally.all_passed for tally in tallies) else EXIT_FAILED


async def _compare(
    plan: ExperimentPlan, sinks: Mapping[str, Sink], settings: Settings
) -> dict[str, dict[str, Any]]:
    baseline = plan.baseline
    base_records = list(iter_records(sinks[baseline.name].root / RESULTS))
    found = {}
    for variant in plan.variants:
        if variant.baseline:
            continue
        records = list(iter_records(sinks[variant.name].root / RESULTS))
        found[variant.name] = await compare_runs(
            base_records, records, variant.specs, settings.judge
        )
    return found


def render_report(
    plan: ExperimentPlan, tallies: Tallies, comparisons: Mapping[str, Mapping[str, Any]]
) -> str:
    lines = [f"# Experiment: {escape(plan.name)}", "", f"vary: {escape(', '.join(plan.vary))}", ""]
    lines += [
        "| variant | eval | stimulus | passed | pass rate | pass@k | flaky |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in tallies.summary()["stimuli"]:
        mark = " (baseline)" if row["variant"] == plan.baseline.name else ""
        rate = "–" if row["passRate"] is None else f"{row['passRate'] * 100:.1f}%"
        at_k = "–" if row["passAtK"] is None else f"{row['passAtK']:.3f}"
        cells = [
            escape(row["variant"]) + mark,
            escape(row["eval"]),
            escape(row["stimulus"]),
            f"{row['trialsPassed']}/{row['trialsCounted']}",
            rate,
            at_k,
            "yes" if row["flaky"] else "no",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    for name, report in comparisons.items():
        summary = report["summary"]
        test = summary["signTest"]
        lines += [
            "",
            f"## {escape(name)} vs {escape(plan.baseline.name)}",
            "",
            f"wins {summary['wins']}, losses {summary['losses']}, ties {summary['ties']}, "
            f"errored {summary['erroredCount']}; exact sign test: "
            f"p(better) = {test['pTreatmentBetter']:.4f}, "
            f"p(worse) = {test['pTreatmentWorse']:.4f}",
        ]
    return "\n".join(lines) + "\n"
