"""Assay's exit and reason codes (harness.assay.codes): the order in which rows decide them."""

from __future__ import annotations

from typing import Any

import pytest

from harness.assay import codes


def row(status: str, kind: str | None = None, abstain: bool = False) -> dict[str, Any]:
    details: dict[str, Any] = {"metrics": {}}
    if kind:
        details["run_error_kind"] = kind
    if abstain:
        details["metrics"]["relevance"] = {"details": {"verdict": "Abstain"}}
    return {"test_id": "t", "status": status, "message": "m", "details": details}


@pytest.mark.parametrize(
    ("rows", "strict", "expected"),
    [
        ([row("pass")], False, (0, "")),
        ([row("fail"), row("error", "trace_not_found")], False, (2, "E_TRACE_NOT_FOUND")),
        ([row("fail"), row("error", "judge_unavailable")], False, (3, "E_JUDGE_UNAVAILABLE")),
        ([row("fail"), row("warn", abstain=True)], False, (1, "E_JUDGE_UNCERTAIN")),
        ([row("fail"), row("warn")], True, (1, "E_TEST_FAILED")),
        ([row("warn")], False, (0, "")),
        ([row("warn")], True, (1, "E_POLICY_VIOLATION")),
        ([row("allowed_on_error", "judge_unavailable")], False, (0, "")),
    ],
)
def test_decision_order(
    rows: list[dict[str, Any]], strict: bool, expected: tuple[int, str]
) -> None:
    outcome = codes.decide(rows, strict=strict)
    assert (outcome.exit_code, outcome.reason_code) == expected
