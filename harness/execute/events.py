"""Hooks a front end (the console) gets as a run goes."""

from __future__ import annotations

from pathlib import Path

from harness.attempt.spec import AttemptPlan
from harness.config.schema import Suite
from harness.plan.build import Plan
from harness.results import AttemptResult


class RunEvents:
    """Hooks for a front end (the console); every method is optional to override."""

    def warning(self, message: str) -> None:
        pass

    def started(self, suite: Suite, run_dir: Path, planned: int) -> None:
        pass

    def attempt_finished(self, result: AttemptResult) -> None:
        pass

    def plan_ready(self, plan: Plan) -> None:
        pass

    def attempt_started(self, attempt: AttemptPlan) -> None:
        pass

    def attempt_retrying(
        self, attempt: AttemptPlan, result: AttemptResult, try_number: int
    ) -> None:
        pass

    def attempt_rerunning(
        self, attempt: AttemptPlan, result: AttemptResult, rerun: int, reruns: int
    ) -> None:
        """`result` failed; re-run number `rerun` of at most `reruns` (--rerun-failures)."""

    #: When True the runner streams each agent's stderr and log messages to agent_output.
    wants_agent_output = False

    def agent_output(self, attempt: AttemptPlan, kind: str, text: str) -> None:
        pass
