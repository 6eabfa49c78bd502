"""Budgets enforced while the attempt runs: a wall-clock deadline as a cancel scope, an idle
timer per message, and counters checked at the call that exceeds them."""

from __future__ import annotations

import contextlib
import time

import anyio

from harness.agent.session import AgentChannel
from harness.attempt.idle import IdleClock
from harness.config.schema import DEFAULT_IDLE_MS, Budgets
from harness.errors import BudgetExceededError
from harness.protocol.messages import AgentMessage, RunnerMessage


class LiveBudget:
    """The budgets of one attempt. Limits are strict: `used > limit` exceeds."""

    def __init__(self, budgets: Budgets) -> None:
        self.budgets = budgets
        self.started = time.monotonic()
        self._started_anyio = anyio.current_time()
        idle_ms = budgets.max_idle_ms if budgets.max_idle_ms is not None else DEFAULT_IDLE_MS
        self._idle = IdleClock(idle_ms)

    def wall_scope(self) -> anyio.CancelScope:
        """A scope whose deadline is `max_wall_ms` after the attempt started (spawn included)."""
        limit = self.budgets.max_wall_ms
        if limit is None:
            return anyio.CancelScope()
        return anyio.CancelScope(deadline=self._started_anyio + limit / 1000)

    def elapsed_ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)

    def wall_exceeded(self) -> BudgetExceededError:
        assert self.budgets.max_wall_ms is not None
        return BudgetExceededError("max_wall_ms", self.budgets.max_wall_ms, self.elapsed_ms())

    def idle_watch(self) -> contextlib.AbstractContextManager[None]:
        """The scope in which `receive`/`send` enforce the idle timeout; raises
        BudgetExceededError(max_idle_ms) when the agent stayed silent for the whole limit."""
        return self._idle.watch()

    async def receive(self, channel: AgentChannel) -> AgentMessage:
        """The next message, or BudgetExceededError(max_idle_ms) (raised by `idle_watch`) if the
        agent stays silent."""
        self._idle.start_wait()
        try:
            return await channel.receive()
        finally:
            self._idle.end_wait()

    async def send(self, channel: AgentChannel, message: RunnerMessage) -> None:
        """Write one message, or BudgetExceededError(max_idle_ms) if the agent has stopped
        reading its stdin: a full pipe would otherwise block the attempt until the wall
        deadline, or for ever when there is none."""
        self._idle.start_wait()
        try:
            await channel.send(message)
        finally:
            # Time the harness spends on its side (a slow live tool) is not the agent's idleness.
            self._idle.end_wait()

    def idle_paused(self) -> contextlib.AbstractContextManager[None]:
        """While the agent waits on a model call harness forwards upstream, its silence is not
        idleness: the clock stops, and starts afresh when the answer has gone."""
        return self._idle.paused()

    def check_tool_calls(self, used: int) -> None:
        limit = self.budgets.max_tool_calls
        if limit is not None and used > limit:
            raise BudgetExceededError("max_tool_calls", limit, used)

    def check_tool_errors(self, used: int) -> None:
        limit = self.budgets.max_tool_errors
        if limit is not None and used > limit:
            raise BudgetExceededError("max_tool_errors", limit, used)

    def check_usage_live(self, tokens_out: int | None, cost_usd: float | None) -> None:
        for exceeded in self.usage_exceeded(tokens_out, cost_usd):
            raise exceeded

    def usage_exceeded(
        self, tokens_out: int | None, cost_usd: float | None
    ) -> list[BudgetExceededError]:
        """The usage budgets exceeded; at the end of an attempt they are reported next to any
        other failure (never hidden behind them)."""
        pairs = (
            ("max_tokens_out", self.budgets.max_tokens_out, tokens_out),
            ("max_cost_usd", self.budgets.max_cost_usd, cost_usd),
        )
        return [
            BudgetExceededError(name, limit, used)
            for name, limit, used in pairs
            if limit is not None and used is not None and used > limit
        ]
