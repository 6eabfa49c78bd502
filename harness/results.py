"""What one attempt produced: the record written to results.jsonl and read by every report."""

from __future__ import annotations

from typing import Any, Final, Literal

import msgspec

from harness.kinds import Outcome, Status

# Statuses as RunLedger's summary.json writes them.
PASS: Final = "pass"
FAIL: Final = "fail"
ERROR: Final = "error"
# Run with --skip-grade: the agent finished and nothing else failed; `harness grade` decides.
UNGRADED: Final = "ungraded"

# The outcome of an attempt for statistics. Unlike `status` (RunLedger's), it separates a
# budget overrun from a failure, and the machinery's failures from the agent's: an
# `infra_error` that survived its retries is no trial at all (it shrinks n, never counts as a
# pass or a fail).
PASSED: Final = "passed"
FAILED: Final = "failed"
BUDGET_EXCEEDED: Final = "budget_exceeded"
INFRA_ERROR: Final = "infra_error"
OUTCOMES: tuple[Outcome, ...] = (PASSED, FAILED, BUDGET_EXCEEDED, INFRA_ERROR)

VerdictStatus = Literal["pass", "fail", "uncertain", "error"]


class Verdict(msgspec.Struct, omit_defaults=True, kw_only=True):
    """One grader's verdict on one attempt (harness.grading.verdict makes them)."""

    grader: str  # the grader's type, e.g. `must_contain`
    status: VerdictStatus
    evidence: str
    name: str | None = None  # the grader's display name, when the config gives one
    score: float | None = None  # in [0, 1]; None: the status alone (pass = 1, else 0)
    weight: float = 1.0
    expected: Any = None
    observed: Any = None
    details: dict[str, Any] | None = None

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    @property
    def label(self) -> str:
        return self.name or self.grader

    def effective_score(self) -> float:
        """The score used by threshold scoring: its own, else 1 for a pass and 0 otherwise."""
        if self.score is not None:
            return self.score
        return 1.0 if self.passed else 0.0


class Failure(msgspec.Struct, omit_defaults=True):
    """One reason an attempt did not pass. `type` is a stable reason code."""

    type: str
    message: str
    expected: Any = None
    observed: Any = None
    details: dict[str, Any] | None = None


class RetryRecord(msgspec.Struct, omit_defaults=True):
    """One try of an attempt that ended in an infrastructure failure and was tried again."""

    try_number: int  # 1 is the first try
    failure_type: str
    message: str
    reason: str  # why it counts as infrastructure (retry.py's words)
    wall_ms: int
    wait_ms: int  # the backoff before the next try
    exit_code: int | None = None
    signal: int | None = None
    stderr_path: str | None = None


class AttemptResult(msgspec.Struct, omit_defaults=True):
    """One attempt of one case. Small on purpose: the trace goes to run.jsonl, not here."""

    case_id: str
    status: Status
    wall_ms: int
    attempt_id: str = ""
    failures: list[Failure] = []
    tool_calls: int = 0
    tool_errors: int = 0
    tool_calls_by_name: dict[str, int] = {}
    tool_errors_by_name: dict[str, int] = {}
    assertions_total: int = 0
    assertions_failed: int = 0
    exit_code: int | None = None
    signal: int | None = None
    stderr_tail: str | None = None
    stderr_path: str | None = None
    cassette_path: str | None = None
    cassette_sha256: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: float | None = None
    steps: int = 0
    model: str | None = None
    trial: int | None = None
    started_at: str | None = None
    outcome: Outcome | Literal[""] = ""  # "" in old files and for ungraded attempts
    infra_reason: str | None = None  # set when outcome is infra_error
    seed: int | None = None
    retries: list[RetryRecord] = []
    fingerprint: str | None = None  # inputs that decide the outcome; see storage/fingerprint.py
    reused_from: str | None = None  # --incremental: the run whose passing result this is
    reruns: int = 0  # --rerun-failures: failed tries before this result
    flaky: bool = False  # passed only on a re-run
    score: float | None = None  # the weighted grader score; with a threshold it decided
    threshold: float | None = None
    verdicts: list[Verdict] = []  # every grader's verdict, passing ones too
    workspace: str | None = None  # the kept workspace folder (--workspace, --skip-grade)

    @property
    def passed(self) -> bool:
        return self.status == PASS

    @property
    def failure_reason(self) -> str | None:
        return self.failures[0].type if self.failures else None
