"""Assay's exit codes and reason codes (`reason_code_version` 1), decided in Assay's order over
typed row fields (`details.run_error_kind`), never by reading messages.

```
exit 0  ""                          every test passed
exit 1  E_TEST_FAILED, E_JUDGE_UNCERTAIN, E_POLICY_VIOLATION (--strict and a warn)
exit 2  E_CFG_PARSE, E_MISSING_CONFIG, E_TRACE_NOT_FOUND, E_INVALID_ARGS, E_BASELINE_INVALID,
        E_REPLAY_MISSING_DEPENDENCY
exit 3  E_JUDGE_UNAVAILABLE (a judge or grader could not run); E_TRACE_NOT_FOUND with
        --exit-codes v1
```
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

REASON_CODE_VERSION = 1
CONFIG_REASONS = {
    "E_CFG_PARSE": "Fix the config at the line named above, then run `harness assay run` again",
    "E_MISSING_CONFIG": "Pass --config PATH to an eval.yaml (default: ./eval.yaml)",
    "E_TRACE_NOT_FOUND": "Check the trace file exists and has a record for every test",
    "E_INVALID_ARGS": "Run `harness assay run --help` for the flags harness supports",
    "E_BASELINE_INVALID": "Export a new baseline with --export-baseline",
    "E_REPLAY_MISSING_DEPENDENCY": "Precompute embeddings and judge results into the trace meta",
}
INFRA_REASONS = {
    "E_JUDGE_UNAVAILABLE": "The judge or grader named in the message could not run; fix it, rerun",
    "E_RATE_LIMIT": "Retry later",
    "E_PROVIDER_5XX": "Retry later",
    "E_TIMEOUT": "Raise the timeout or fix the slow dependency",
    "E_NETWORK_ERROR": "Check the network",
}
FAILURE_REASONS = {
    "E_TEST_FAILED": "Read results[].message in run.json for each failed test",
    "E_JUDGE_UNCERTAIN": "The judge's votes split; add samples or sharpen the rubric",
    "E_POLICY_VIOLATION": "--strict: resolve each warn result (see run.json)",
    "E_SEQUENCE_VIOLATION": "Read results[].message in run.json",
    "E_ARG_SCHEMA": "Read results[].message in run.json",
}
# details.run_error_kind -> reason code
ERROR_KINDS = {
    "trace_not_found": "E_TRACE_NOT_FOUND",
    "missing_config": "E_MISSING_CONFIG",
    "config_parse": "E_CFG_PARSE",
    "invalid_args": "E_INVALID_ARGS",
    "replay_missing_dependency": "E_REPLAY_MISSING_DEPENDENCY",
    "judge_unavailable": "E_JUDGE_UNAVAILABLE",
    "provider_timeout": "E_TIMEOUT",
}
WARN_STATUSES = ("warn", "flaky", "unstable")


def exit_code_for(reason: str, version: str = "v2") -> int:
    if not reason:
        return 0
    if reason == "E_TRACE_NOT_FOUND" and version == "v1":
        return 3
    if reason in CONFIG_REASONS:
        return 2
    if reason in INFRA_REASONS:
        return 3
    return 1


def next_step(reason: str) -> str:
    return {**CONFIG_REASONS, **INFRA_REASONS, **FAILURE_REASONS}.get(reason, "")


@dataclasses.dataclass
class Outcome:
    exit_code: int
    reason_code: str
    message: str
    warnings: list[str] = dataclasses.field(default_factory=list)

    def resolution(self) -> dict[str, Any]:
        resolution: dict[str, Any] = {
            "exit_code": self.exit_code,
            "reason_code": self.reason_code,
            "message": self.message,
        }
        if self.reason_code:
            resolution["next_step"] = next_step(self.reason_code)
        if self.warnings:
            resolution["warnings"] = self.warnings
        return resolution


def failure(reason: str, message: str, version: str = "v2") -> Outcome:
    return Outcome(exit_code_for(reason, version), reason, message)


def decide(rows: Sequence[dict[str, Any]], *, strict: bool, version: str = "v2") -> Outcome:
    """Assay's order: a config-class error row (2), any error row (3), a split judge vote (1),
    any fail (1), --strict and any warn (1), else 0."""
    kinds = [ERROR_KINDS.get(str(row["details"].get("run_error_kind", ""))) for row in rows]
    for row, reason in zip(rows, kinds, strict=True):
        if reason in CONFIG_REASONS:
            return failure(reason, f"{row['test_id']}: {row['message']}", version)
    errors = [(row, r) for row, r in zip(rows, kinds, strict=True) if row["status"] == "error"]
    if errors:
        reason = next((r for _, r in errors if r in INFRA_REASONS), "E_JUDGE_UNAVAILABLE")
        return failure(reason, f"Infrastructure failures detected ({len(errors)} test(s))", version)
    uncertain = [row for row in rows if _abstained(row)]
    if uncertain:
        return failure("E_JUDGE_UNCERTAIN", f"{len(uncertain)} judge verdict(s) uncertain", version)
    failed = [row for row in rows if row["status"] == "fail"]
    if failed:
        return failure("E_TEST_FAILED", f"{len(failed)} test(s) failed", version)
    warned = [row for row in rows if row["status"] in WARN_STATUSES]
    if strict and warned:
        return failure("E_POLICY_VIOLATION", f"Strict mode: {len(warned)} policy violations")
    return Outcome(0, "", "All tests passed")


def _abstained(row: dict[str, Any]) -> bool:
    metrics = row["details"].get("metrics") or {}
    return any(
        isinstance(m, dict) and (m.get("details") or {}).get("verdict") == "Abstain"
        for m in metrics.values()
    )
