"""The ToolBackend seam and the policy around every live call: a timeout per try, tenacity
retries with exponential backoff and jitter for transient failures, and errors as answers.

A backend raises one of three errors, and the policy turns each into an answer:

```
ToolFailure          the tool answered with an error        ok: false, recorded
ToolUnavailable      the tool could not be reached          ok: false, the cassette is kept
`-- TransientToolError   worth another try (timeout, 503)   retried, then as ToolUnavailable
```
Any other exception from a backend is a bug of the backend and becomes a ToolFailure.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Protocol

import anyio
import tenacity

from harness.config.schema import DEFAULT_TOOL_TIMEOUT_MS, ToolRetry

DEFAULT_RETRY = ToolRetry()


class Redacts(Protocol):
    """What live tools need of redaction (harness.cassette.redact.Redactor): a tool server's
    own stderr is logged only once its secrets are masked."""

    def text(self, text: str) -> str: ...

    def line(self, data: bytes) -> bytes: ...


class ToolFailure(Exception):
    """The tool ran and answered with an error; it becomes `ok: false` and is recorded."""


class ToolUnavailable(Exception):
    """The tool could not be reached; the agent gets `ok: false`, no cassette is written."""

    tries = 1  # how many tries it took to give up


class TransientToolError(ToolUnavailable):
    """A failure worth another try: a timeout, a refused connection, HTTP 429/502/503/504."""


class ToolBackend(Protocol):
    """One kind of live tool. `call` returns the tool's result or raises the errors above."""

    kind: str  # python | command | http | mcp: named in cassette headers

    async def call(self, tool: str, args: dict[str, Any]) -> Any: ...


@dataclass(frozen=True)
class LiveAnswer:
    """What a live call produced, before redaction."""

    ok: bool
    result: Any = None
    error: str | None = None
    unavailable: bool = False  # could not be reached even after retries
    tries: int = 1


@dataclass(frozen=True)
class LiveTool:
    """A backend bound to one tool name with its timeout and retry policy."""

    name: str
    backend: ToolBackend
    timeout_ms: int = DEFAULT_TOOL_TIMEOUT_MS
    retry: ToolRetry = DEFAULT_RETRY

    @property
    def kind(self) -> str:
        return self.backend.kind

    async def call(self, args: dict[str, Any]) -> LiveAnswer:
        """Call the tool under the policy. Never raises for a tool's failure."""
        tries = 1
        try:
            try:
                result = await self._try_once(args)
            except TransientToolError:
                if self.retry.attempts <= 1:
                    raise
                # Retrying is set up only when needed: it costs ~40 µs a call otherwise.
                result, tries = await self._retry(args)
        except ToolFailure as exc:
            return LiveAnswer(ok=False, error=str(exc), tries=tries)
        except ToolUnavailable as exc:
            tries = exc.tries
            after = f" after {tries} tries" if tries > 1 else ""
            message = f"tool {self.name!r} ({self.kind}) unavailable{after}: {exc}"
            return LiveAnswer(ok=False, error=message, unavailable=True, tries=tries)
        return LiveAnswer(ok=True, result=result, tries=tries)

    async def _retry(self, args: dict[str, Any]) -> tuple[Any, int]:
        """Tries 2..attempts after a transient failure of the first, waiting initial * 2^n
        (capped at max) plus up to `initial` of jitter before each."""
        retry = self.retry
        initial, cap = retry.initial_backoff_ms / 1000, retry.max_backoff_ms / 1000
        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(retry.attempts - 1),
            # wait_exponential + wait_random keep one meaning across tenacity versions
            # (wait_exponential_jitter's arguments changed). The first wait is ours, below.
            wait=tenacity.wait_exponential(multiplier=initial * 2, max=cap)
            + tenacity.wait_random(0, initial),
            retry=tenacity.retry_if_exception_type(TransientToolError),
            # anyio's sleep, so a cancelled run stops waiting at once on any backend.
            sleep=anyio.sleep,
            reraise=True,
        )
        await anyio.sleep(min(initial, cap) + random.uniform(0, initial))
        tries = 1
        try:
            async for attempt in retrying:
                with attempt:
                    tries += 1
                    return await self._try_once(args), tries
        except ToolUnavailable as exc:
            exc.tries = tries
            raise
        raise AssertionError("unreachable: tenacity reraises the last error")

    async def _try_once(self, args: dict[str, Any]) -> Any:
        seconds = self.timeout_ms / 1000
        try:
            with anyio.fail_after(seconds):
                return await self.backend.call(self.name, args)
        except TimeoutError:
            raise TransientToolError(f"no answer within {seconds:g} s (timeout_ms)") from None
        except (ToolFailure, ToolUnavailable):
            raise
        except Exception as exc:  # a backend's own bug must not crash the run
            raise ToolFailure(f"{type(exc).__name__}: {exc}") from exc


def describe_exception(exc: BaseException) -> str:
    """`ValueError: bad city`, the way a tool error reads in a cassette."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
