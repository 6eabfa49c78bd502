"""What one attempt produced: the record written to results.jsonl and read by every report."""

from __future__ import annotations

from typing import Any

import msgspec

# Statuses as RunLedger's summary.json writes them.
PASS = "pass"
FAIL = "fail"
ERROR = "error"


class Failure(msgspec.Struct, omit_defaults=True):
    """One reason an attempt did not pass. `type` is a stable reason code."""

    type: str
    message: str
    expected: Any = None
    observed: Any = None
    details: dict[str, Any] | None = None


class AttemptResult(msgspec.Struct, omit_defaults=True):
    """One attempt of one case. Small on purpose: the trace goes to run.jsonl, not here."""

    case_id: str
    status: str  # pass | fail | error
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

    @property
    def passed(self) -> bool:
        return self.status == PASS

    @property
    def failure_reason(self) -> str | None:
        return self.failures[0].type if self.failures else None
