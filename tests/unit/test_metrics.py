"""Assay's metrics as graders (harness.grading.assay.metrics): args_valid, sequence_valid, the
tool blocklist, and judge results read from the trace's meta."""

from __future__ import annotations

from typing import Any

from harness.grading.assay import metrics
from harness.grading.engine import run_grader
from harness.grading.verdict import FAILED, UNCERTAIN
from tests.support.graders import calls_context


async def test_args_valid_forms() -> None:
    schema = {"pay": {"required": ["amount"]}}
    assert (
        await run_grader(metrics.ArgsValid(schema=schema), calls_context(("pay", {"amount": 1})))
    ).passed
    bad = await run_grader(metrics.ArgsValid(schema=schema), calls_context(("pay", {})))
    assert bad.evidence == 'call 1 (pay): $: "amount" is a required property'
    assert (
        await run_grader(metrics.ArgsValid(schema=schema), calls_context())
    ).passed  # zero calls
    policy = {"deny": ["delete_*"], "schemas": {}}
    denied = await run_grader(metrics.ArgsValid(schema=policy), calls_context(("delete_all", {})))
    assert denied.evidence == "call 1 (delete_all): tool 'delete_all' is denied"


async def test_sequence_valid_rules_and_blocklist() -> None:
    rules: list[dict[str, Any]] = [
        {"type": "require", "tool": "login"},
        {"type": "before", "first": "login", "then": {"tool": "pay", "args_match": {"to": "^acc"}}},
        {"type": "blocklist", "pattern": "admin"},
    ]
    good = calls_context(("login", {}), ("pay", {"to": "acc-1"}))
    assert (await run_grader(metrics.SequenceValid(rules=rules), good)).passed
    bad = calls_context(("pay", {"to": "acc-1"}), ("login", {}))
    verdict = await run_grader(metrics.SequenceValid(rules=rules), bad)
    assert verdict.evidence == "'login' must come before pay[to]"
    blocked = await run_grader(metrics.ToolBlocklist(blocked=["rm"]), calls_context(("rm", {})))
    assert blocked.status == FAILED


async def test_judge_meta_and_split_votes() -> None:
    split = {"assay": {"judge": {"relevance": {"passed": True, "score": 0.67}}}}
    verdict = await run_grader(metrics.Relevance(), calls_context(meta=split))
    assert verdict.status == UNCERTAIN
    sure = {"assay": {"judge": {"faithfulness": {"passed": False, "score": 0.0}}}}
    assert (await run_grader(metrics.Faithfulness(), calls_context(meta=sure))).status == FAILED
    missing = await run_grader(metrics.Faithfulness(), calls_context())
    assert missing.evidence == "judge result missing: no meta.assay.judge.faithfulness in the trace"
