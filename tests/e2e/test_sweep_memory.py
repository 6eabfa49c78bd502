"""A real sweep through the Python API keeps memory flat in the number of attempts (issue 4):
what the run holds past its plan grows by bytes an attempt, not by the results themselves.
tests/unit/test_finish.py is the fast variant (made-up results, no agents)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import anyio
import pytest
import yaml

from harness.api import GateOptions, RunEvents, RunOptions, run_suite
from harness.plan.build import Plan

# The cheapest agent to start: read the task, answer.
SH_AGENT = 'IFS= read -r task\nprintf \'{"type":"final_output","output":{"answer":1}}\\n\'\n'


def make_suite(root: Path, cases: int) -> Path:
    (root / "cases").mkdir(parents=True)
    (root / "agent.sh").write_text(SH_AGENT)
    settings = {
        "suite_name": "memory",
        "agent_command": ["sh", str(root / "agent.sh")],
        "mode": "replay",
        "cases_path": "cases",
        "tool_registry": [],
        "assertions": [{"type": "required_fields", "fields": ["answer"]}],
    }
    (root / "suite.yaml").write_text(yaml.safe_dump(settings))
    for number in range(cases):
        case = {"id": f"c{number:03d}", "input": {"n": number}}
        (root / "cases" / f"c{number:03d}.yaml").write_text(yaml.safe_dump(case))
    return root


class Watch(RunEvents):
    """Traced memory when the plan is ready: what the run adds is measured from there."""

    def __init__(self) -> None:
        self.at_plan = 0

    def plan_ready(self, plan: Plan) -> None:
        self.at_plan = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()


def measure(tmp_path: Path, suite: Path, runs: int) -> tuple[int, int, int]:
    """(attempts, bytes held after the run, peak bytes during it), both past the plan."""
    options = RunOptions(
        suite=suite,
        models=("m1,m2",),
        runs=runs,
        workers=4,
        output_dir=tmp_path / f"out-{runs}",
        gate=GateOptions(db=str(tmp_path / f"history-{runs}.db")),
    )
    watch = Watch()
    report = anyio.run(run_suite, options, watch)
    assert report.exit_code == 0 and report.passed == report.planned
    held, peak = tracemalloc.get_traced_memory()
    return report.planned, held - watch.at_plan, peak - watch.at_plan


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_sweep_holds_no_results(tmp_path: Path) -> None:
    suite = make_suite(tmp_path / "suite", cases=50)
    tracemalloc.start()
    try:
        measure(tmp_path, suite, 1)  # imports and first-use caches, not counted
        small, held_small, peak_small = measure(tmp_path, suite, 5)  # 500 attempts
        large, held_large, peak_large = measure(tmp_path, suite, 20)  # 2,000 attempts
    finally:
        tracemalloc.stop()
    more = large - small
    # Before issue 4: ~1 KB an attempt held (the results list) and several KB at the peak.
    assert held_large - held_small < 100 * more, (held_small, held_large)
    assert peak_large - peak_small < 150 * more, (peak_small, peak_large)
