"""One row per test, in Assay's run.json shape: the trace record found for the test, its
`expected` metric and its assertions graded over one call list, and a status.

Statuses are Assay's (pass, fail, warn, error, allowed_on_error) and are never rewritten: a
`warn` stays a warn, so `--strict` gates on it, and a judge's split vote is never a pass.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from harness.assay.config import AssayConfig, AssayTest
from harness.assay.traces import TraceFile, TraceRecord
from harness.grading.context import GradingContext, JudgeSettings
from harness.grading.engine import run_grader
from harness.grading.verdict import ERRORED, PASSED, UNCERTAIN, Verdict

REDACTED = "[REDACTED]"


@dataclass(frozen=True)
class EvalOptions:
    judge: JudgeSettings = field(default_factory=JudgeSettings)
    redact_prompts: bool = False


async def evaluate(
    config: AssayConfig, traces: TraceFile, options: EvalOptions
) -> list[dict[str, Any]]:
    rows = [await evaluate_test(config, test, traces, options) for test in config.tests]
    return sorted(rows, key=lambda row: row["test_id"])


async def evaluate_test(
    config: AssayConfig, test: AssayTest, traces: TraceFile, options: EvalOptions
) -> dict[str, Any]:
    started = time.perf_counter()
    prompt = REDACTED if options.redact_prompts else test.prompt
    record = traces.find(test.id, test.prompt)
    if record is None:
        message = f"E_TRACE_MISS: no trace record for this test's prompt {_short(test.prompt)}"
        missing = {"prompt": prompt, "assay.replay": True, "run_error_kind": "trace_not_found"}
        row = _row(config, test, "error", None, message, missing, started, traces, None)
        return _error_policy(config, test, row)
    context = GradingContext(
        output=record.response,
        calls=tuple(record.calls),
        steps=record.steps,
        input=test.prompt,
        case_id=test.id,
        meta=record.meta,
        judge=options.judge,
    )
    metric = await run_grader(test.expected, context) if test.expected is not None else None
    checks = [await run_grader(spec, context) for spec in test.assertions]
    status, message = _status(test, metric, checks)
    details: dict[str, Any] = {
        "metrics": {test.metric: _metric(metric)} if metric is not None else {},
        "assertions": [_assertion(v) for v in checks],
        "prompt": prompt,
        "assay.replay": True,
        "trace": {"line": record.line, "format": record.kind, "tool_calls": len(record.calls)},
    }
    errored = [v for v in [metric, *checks] if v is not None and v.status == ERRORED]
    if errored:
        kind = (errored[0].details or {}).get("run_error_kind", "judge_unavailable")
        details["run_error_kind"] = kind
    score = metric.effective_score() if metric is not None else 1.0
    row = _row(config, test, status, score, message, details, started, traces, record)
    return _error_policy(config, test, row)


def _error_policy(config: AssayConfig, test: AssayTest, row: dict[str, Any]) -> dict[str, Any]:
    """Assay's `on_error: allow`: an error row becomes allowed_on_error (counted as passed) and
    names the policy beside its status, as Assay's run.json does; the exit code still follows
    the error's class (harness.assay.codes.decide: a config-class error is 2 all the same)."""
    if row["status"] == "error" and (test.on_error or config.on_error) == "allow":
        row["status"] = "allowed_on_error"  # the row's; its attempt stays the error it was
        row["error_policy_applied"] = "allow"
    return row


def _status(test: AssayTest, metric: Verdict | None, checks: Sequence[Verdict]) -> tuple[str, str]:
    verdicts = [v for v in [metric, *checks] if v is not None]
    errored = [v for v in verdicts if v.status == ERRORED]
    if errored:
        return "error", f"error: {errored[0].label}: {errored[0].evidence}"
    failed_checks = [v for v in checks if v.status != PASSED]
    tail = f"; assertions failed ({len(failed_checks)})" if failed_checks else ""
    if metric is not None and metric.status == UNCERTAIN:
        return "warn", f"unstable: {test.metric}: {metric.evidence}{tail}"
    if metric is not None and metric.status != PASSED:
        return "fail", f"failed: {test.metric}: {metric.evidence}{tail}"
    if failed_checks:
        first = failed_checks[0]
        return "fail", f"assertions failed ({len(failed_checks)}): {first.label}: {first.evidence}"
    return "pass", "ok"


def _metric(v: Verdict) -> dict[str, Any]:
    details = dict(v.details or {})
    exercised = details.pop("exercised", "exercised")
    details["message"] = v.evidence
    return {
        "score": v.effective_score(),
        "passed": v.status == PASSED,
        "unstable": v.status == UNCERTAIN,
        "exercised": exercised,
        "details": details,
    }


def _assertion(v: Verdict) -> dict[str, Any]:
    row: dict[str, Any] = {"type": v.grader, "passed": v.status == PASSED, "message": v.evidence}
    if v.status != PASSED:
        row.update(status=v.status, expected=v.expected, observed=v.observed)
    return row


def _row(
    config: AssayConfig,
    test: AssayTest,
    status: str,
    score: float | None,
    message: str,
    details: dict[str, Any],
    started: float,
    traces: TraceFile,
    record: TraceRecord | None,
) -> dict[str, Any]:
    duration_ms = int((time.perf_counter() - started) * 1000)
    return {
        "test_id": test.id,
        "status": status,
        "score": score,
        "cached": False,
        "message": message,
        "details": details,
        "duration_ms": duration_ms,
        "fingerprint": fingerprint(config, test, record),
        "skip_reason": None,
        "attempts": [
            {
                "attempt_no": 1,
                "status": status,
                "message": message,
                "duration_ms": duration_ms,
                "details": {},
            }
        ],
    }


def fingerprint(config: AssayConfig, test: AssayTest, record: TraceRecord | None) -> str:
    """What decides the row, the trace record and the assertions included (Assay leaves both
    out, so a changed trace or assertion could be skipped as unchanged)."""
    digest = hashlib.sha256()
    parts: list[Any] = [config.suite, config.model, test.id, test.prompt, list(test.context)]
    parts += [msgspec.to_builtins(test.expected), msgspec.to_builtins(list(test.assertions))]
    if record is not None:
        parts += [record.response, [c.__dict__ for c in record.calls], record.meta]
    for part in parts:
        digest.update(msgspec.json.encode(part, order="sorted", enc_hook=repr) + b"\n")
    return "sha256:" + digest.hexdigest()


def _short(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")
