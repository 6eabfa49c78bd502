"""The plan: which attempts a run makes, each with a stable id. Cases x models x trials."""

from __future__ import annotations

from harness.config.schema import Suite
from harness.runner import AttemptPlan


def build_plan(suite: Suite) -> list[AttemptPlan]:
    """One attempt per case, in suite order; the id is the case id."""
    return [AttemptPlan(attempt_id=case.id, case=case) for case in suite.cases]
