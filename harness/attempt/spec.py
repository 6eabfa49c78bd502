"""What one attempt is: the agent to start (AgentSpec, resolved once a run) and the attempt's
place in the plan (AttemptPlan)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.config.schema import Case


@dataclass(frozen=True)
class AgentSpec:
    """How to start the agent: resolved once per run."""

    argv: tuple[str, ...]
    cwd: Path | None
    env: Mapping[str, str] | None
    max_line_bytes: int
    grace_seconds: float
    # Exit statuses the agent uses to say "transient, retry me" (the suite's retry.exit_codes).
    retry_exit_codes: frozenset[int] = frozenset()
    # final_output.output must be a JSON object (a suite's `output_type: object`, RunLedger's
    # rule); False accepts any JSON value.
    object_output: bool = False


@dataclass(frozen=True, slots=True)  # a sweep plans 100,000 of them: no __dict__ each
class AttemptPlan:
    attempt_id: str
    case: Case
    model: str | None = None
    trial: int | None = None
    seed: int | None = None


# Streams an agent's stderr chunks ("stderr") and log messages ("log") as they arrive.
OutputHook = Callable[[str, str], None]


def attempt_environment(
    env: Mapping[str, str] | None, plan: AttemptPlan, more: Mapping[str, str] | None = None
) -> Mapping[str, str] | None:
    """The agent's environment plus HARNESS_MODEL / HARNESS_TRIAL / HARNESS_SEED when set, and
    `more` (the model proxy's base URLs and placeholder keys) last."""
    extra = {
        name: str(value)
        for name, value in (
            ("HARNESS_MODEL", plan.model),
            ("HARNESS_TRIAL", plan.trial),
            ("HARNESS_SEED", plan.seed),
        )
        if value is not None
    }
    extra.update(more or {})
    if not extra:
        return env
    return {**(os.environ if env is None else env), **extra}
