"""Assay's fixture assertions (harness.grading.assay.fixtures): each tests its own data against
its policy."""

from __future__ import annotations

from harness.grading.assay.fixtures import (
    ArgsValidFixture,
    SequenceValidFixture,
    ToolBlocklistFixture,
)
from harness.grading.engine import run_grader
from harness.grading.verdict import PASSED
from tests.support.graders import calls_context


async def test_fixture_assertions_test_their_own_data() -> None:
    policy = {"schema": {"properties": {"amount": {"maximum": 10}}}}
    spec = ArgsValidFixture(tool="t", test_args={"amount": 50}, policy=policy, expect="fail")
    assert (await run_grader(spec, calls_context())).status == PASSED
    wrong = ArgsValidFixture(tool="t", test_args={"amount": 50}, policy=policy)
    verdict = await run_grader(wrong, calls_context())
    assert verdict.evidence.startswith("args_valid(t) [$.amount: 50 is greater than")
    seq = SequenceValidFixture(
        test_trace_raw=[{"tool": "a"}, {"tool": "b"}], policy={"regex": "a b"}
    )
    assert (await run_grader(seq, calls_context())).passed
    blocked = ToolBlocklistFixture(
        test_tool_calls=["rm"], policy={"blocked": ["rm"]}, expect="fail"
    )
    assert (await run_grader(blocked, calls_context())).passed
