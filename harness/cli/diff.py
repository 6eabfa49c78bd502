"""`harness diff`: a stored run against a baseline, case by case; exit 1 on regression."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli import flags


def diff_command(
    run: Annotated[Path, typer.Option("--run", help=flags.RUN_DIR_HELP)],
    baseline: flags.Baseline = None,
) -> None:
    """Compare a run with a baseline under the run's own gate settings. Exit 0 (no
    regression), 1 (regression), 2 (unreadable input or a different suite)."""
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from harness.cli.console import echo
    from harness.cli.gate_flags import print_gate
    from harness.errors import UsageError
    from harness.gate.baseline import check_same_suite, load_baseline, rows_of
    from harness.gate.evaluate import Policy, evaluate
    from harness.gate.stored import read_summary
    from harness.storage.latest import resolve_run_dir

    if baseline is None:
        raise UsageError("harness diff needs --baseline FILE: the baseline to compare with")
    summary, _ = read_summary(resolve_run_dir(run))
    loaded = load_baseline(baseline)
    check_same_suite(loaded, str(summary.get("suite", {}).get("name")))
    # The thresholds the run was gated with (RunLedger's policy_snapshot), not today's.
    policy = Policy.from_snapshot(summary.get("policy_snapshot"))
    gate = evaluate(rows_of(summary), loaded, policy)
    diffs = gate.case_diffs
    for change in diffs.get("status_changed", []):
        model = f" [{change['model']}]" if change.get("model") else ""
        echo(f"changed  {change['id']}{model}: {change['baseline']} -> {change['current']}")
    for name in diffs.get("new_in_current", []):
        echo(f"new      {name}")
    for name in diffs.get("missing_in_current", []):
        echo(f"missing  {name}")
    if not any(diffs.values()):
        print("no case changed status")
    print_gate({"regression": gate.to_json()})
    raise typer.Exit(0 if gate.passed else 1)
