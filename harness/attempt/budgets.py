"""Budgets enforced while the attempt runs: a wall-clock deadline as a cancel scope, an idle
timer per message, and counters checked at the call that exceeds them."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator

import anyio

from harness.agent.session import AgentChannel
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
        self.idle_seconds = idle_ms / 1000
        self._idle: anyio.CancelScope | None = None
        self._waiting = False  # inside receive/send: the idle deadline is armed
        self._paused = 0  # model calls in flight upstream

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

    @contextlib.contextmanager
    def idle_watch(self) -> Iterator[None]:
        """The scope in which `receive`/`send` enforce the idle timeout. One scope whose
        deadline each message moves, rather than a scope per message: a conversation costs one
        timer per message instead of a cancel scope's enter and exit."""
        scope = anyio.CancelScope(deadline=math.inf)
        self._idle = scope
        try:
            with scope:
                yield
        finally:
            self._idle = None
        if scope.cancelled_caught:
            limit_ms = int(self.idle_seconds * 1000)
            raise BudgetExceededError("max_idle_ms", limit_ms, limit_ms)

    async def receive(self, channel: AgentChannel) -> AgentMessage:
        """The next message, or BudgetExceededError(max_idle_ms) (raised by `idle_watch`) if the
        agent stays silent."""
        self._arm()
        try:
            return await channel.receive()
        finally:
            self._disarm()

    async def send(self, channel: AgentChannel, message: RunnerMessage) -> None:
        """Write one message, or BudgetExceededError(max_idle_ms) if the agent has stopped
        reading its stdin: a full pipe would otherwise block the attempt until the wall
        deadline, or for ever when there is none."""
        self._arm()
        try:
            await channel.send(message)
        finally:
            self._disarm()

    def _arm(self) -> None:
        if self._idle is None:
            raise RuntimeError("LiveBudget.receive/send used outside idle_watch()")
        self._waiting = True
        if not self._paused:
            self._idle.deadline = anyio.current_time() + self.idle_seconds

    def _disarm(self) -> None:
        # Time the harness spends on its side (a slow live tool) is not the agent's idleness.
        self._waiting = False
        if self._idle is not None and not self._idle.cancel_called:
            self._idle.deadline = math.inf

    @contextlib.contextmanager
    def idle_paused(self) -> Iterator[None]:
        """While the agent waits on a model call harness forwards upstream, its silence is not
        idleness: the timer stops, and starts afresh when the answer has gone."""
        self._paused += 1
        if self._idle is not None and not self._idle.cancel_called:
            self._idle.deadline = math.inf
        try:
            yield
        finally:
            self._paused -= 1
            if not self._paused and self._waiting:
                self._arm()

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
