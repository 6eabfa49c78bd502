"""The policy around every live tool (harness.tools.backend), over a fake backend: timeouts,
retries of transient failures, errors as answers."""

from __future__ import annotations

from harness.config.schema import ToolRetry
from harness.tools.backend import LiveTool, ToolFailure, TransientToolError
from harness.tools.fake import FakeBackend
from tests.support.tools import FAST_RETRY


async def test_transient_failures_are_retried_then_answered() -> None:
    fake = FakeBackend({"weather": {"temp": 21}})
    fake.fail_next("weather", TransientToolError("HTTP 503"), times=2)
    answer = await LiveTool("weather", fake, retry=FAST_RETRY).call({"city": "Paris"})
    assert (answer.ok, answer.result, answer.tries) == (True, {"temp": 21}, 3)
    assert len(fake.calls) == 3


async def test_a_tool_that_stays_unreachable_is_an_error_answer_not_a_crash() -> None:
    fake = FakeBackend()
    fake.fail_next("weather", TransientToolError("connection refused"), times=5)
    answer = await LiveTool("weather", fake, retry=FAST_RETRY).call({})
    assert not answer.ok and answer.unavailable and answer.tries == 3
    assert answer.error is not None and "after 3 tries: connection refused" in answer.error


async def test_a_tool_error_is_recorded_and_never_retried() -> None:
    fake = FakeBackend()
    fake.fail_next("lookup", ToolFailure("no such customer"), times=5)
    answer = await LiveTool("lookup", fake, retry=FAST_RETRY).call({})
    assert (answer.ok, answer.error, answer.unavailable, answer.tries) == (
        False,
        "no such customer",
        False,
        1,
    )


async def test_a_backend_bug_becomes_a_tool_error() -> None:
    fake = FakeBackend()
    fake.fail_next("lookup", KeyError("oops"))
    answer = await LiveTool("lookup", fake, retry=FAST_RETRY).call({})
    assert not answer.ok and answer.error == "KeyError: 'oops'"


async def test_each_try_has_its_own_timeout() -> None:
    fake = FakeBackend({"slow": 1}, delay=5)
    tool = LiveTool("slow", fake, timeout_ms=20, retry=ToolRetry(attempts=2, initial_backoff_ms=1))
    answer = await tool.call({})
    assert answer.unavailable and answer.tries == 2
    assert answer.error is not None and "no answer within 0.02 s" in answer.error
