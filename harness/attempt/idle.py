"""The idle budget's clock: how long the agent has kept harness waiting on one message.

Each wait only notes when it began. One loop timer per attempt checks that note when it fires,
and fires again at the note's own deadline when a later wait moved it; most attempts end before
it ever fires. (A cancel scope whose deadline every message moves costs a loop timer made and
one cancelled per message: about a fifth of harness's own work in a short attempt's exchanges.)
anyio has no timer callback, so this module uses the asyncio loop's, as anyio's own deadlines do.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import anyio

from harness.errors import BudgetExceededError


class IdleClock:
    """Stops the attempt (its `watch` scope) once a single wait lasts `limit_ms`."""

    def __init__(self, limit_ms: int) -> None:
        self.limit_ms = limit_ms
        self._seconds = limit_ms / 1000
        self._scope: anyio.CancelScope | None = None
        self._waiting = False  # inside a wait: the clock runs
        self._since = 0.0  # the loop time the current wait began
        self._timer: asyncio.TimerHandle | None = None
        self._expired = False
        self._paused = 0  # model calls in flight upstream

    @contextlib.contextmanager
    def watch(self) -> Iterator[None]:
        """The scope the clock stops; raises BudgetExceededError(max_idle_ms) when it did."""
        scope = self._scope = anyio.CancelScope()
        try:
            with scope:
                yield
        finally:
            self._scope = None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        if scope.cancelled_caught and self._expired:
            raise BudgetExceededError("max_idle_ms", self.limit_ms, self.limit_ms)

    def start_wait(self) -> None:
        if self._scope is None:
            raise RuntimeError("LiveBudget.receive/send used outside idle_watch()")
        self._waiting = True
        if not self._paused:
            self._restart()

    def end_wait(self) -> None:
        self._waiting = False

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """The clock stands still inside; a wait still going on afterwards starts afresh."""
        self._paused += 1
        try:
            yield
        finally:
            self._paused -= 1
            if not self._paused and self._waiting and self._scope is not None:
                self._restart()

    def _restart(self) -> None:
        loop = asyncio.get_running_loop()
        self._since = loop.time()
        if self._timer is None:
            self._timer = loop.call_at(self._since + self._seconds, self._check)

    def _check(self) -> None:
        """The timer: stop the attempt if the current wait has lasted the whole limit; else
        look again when it will have."""
        self._timer = None
        scope = self._scope
        if scope is None or not self._waiting or self._paused:
            return  # not waiting on the agent now: the next wait starts the clock again
        loop = asyncio.get_running_loop()
        due = self._since + self._seconds
        if loop.time() >= due:
            self._expired = True
            scope.cancel()
        else:
            self._timer = loop.call_at(due, self._check)
