"""One attempt's model calls: answered from its cassette (replay), forwarded and staged
(record), either (auto) or forwarded only (live), with the usage they report counted against
the attempt's budgets.

A miss, a refused call (a budget already spent) and an upstream that cannot answer end the
attempt: the agent gets a provider-shaped error it will not retry, and the conversation, which
watches `watching()`, stops with the session's `fatal` error.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

import anyio

from harness.cassette.gateway import ToolGateway
from harness.cassette.model_entry import ModelEntry
from harness.config.schema import Budgets, RecordMode
from harness.errors import (
    AttemptError,
    BudgetExceededError,
    CassetteError,
    ModelKeyRefusedError,
    ModelMissError,
    ModelUpstreamError,
)
from harness.kinds import FailureKind
from harness.proxy.exchange import Exchange, ModelCall, ResponseWriter, forward, replay_entry
from harness.proxy.normalize import request_digest
from harness.proxy.replay import ModelCassette, ModelRequest
from harness.proxy.settings import ProxySettings
from harness.proxy.shapes import error_body
from harness.proxy.upstream import UpstreamClient, UpstreamUnavailable
from harness.proxy.usage import Usage, usage_of_body, usage_of_events
from harness.results import Failure

if TYPE_CHECKING:
    import random

# What the session tells the attempt's trace: (event type, fields).
OnEvent = Callable[[str, dict[str, Any]], None]


class RouteHandle(Protocol):
    """An agent process's base URLs (harness.proxy.server.Route)."""

    def env(self) -> dict[str, str]: ...

    def bind(self, session: ModelSession | None) -> None: ...

    def close(self) -> None: ...


class Routes(Protocol):
    def open_route(self) -> RouteHandle: ...


class ModelSession:
    """The model side of one attempt."""

    def __init__(
        self,
        settings: ProxySettings,
        *,
        gateway: ToolGateway,
        budgets: Budgets,
        attempt_id: str,
        upstream: UpstreamClient | None,
        routes: Routes,
    ) -> None:
        self.settings = settings
        self.routes = routes
        self.gateway = gateway
        self.budgets = budgets
        self.attempt_id = attempt_id
        self.upstream = upstream
        self.tokens_in: int | None = None
        self.tokens_out: int | None = None
        self.cost_usd: float | None = None
        self.calls = 0
        self.fatal: AttemptError | None = None
        self.fatal_seen = False  # the conversation raised it: finish() must not list it again
        self.on_event: OnEvent | None = None
        # Stops the attempt's idle timer while a call waits on the provider.
        self.pause_idle: Callable[[], contextlib.AbstractContextManager[None]] = (
            contextlib.nullcontext
        )
        self._problems: list[Failure] = []
        self._scope: anyio.CancelScope | None = None
        self._cassette: ModelCassette | None = None
        self._unpriced: set[str] = set()

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """The conversation runs in here; a fatal model failure cancels it."""
        scope = anyio.CancelScope()
        self._scope = scope
        try:
            with scope:
                yield
        finally:
            self._scope = None
        if self.fatal is not None:
            self.fatal_seen = True
            raise self.fatal

    async def handle(self, call: ModelCall, writer: ResponseWriter) -> None:
        """Answer one request of the agent."""
        self.calls += 1
        if self.fatal is not None:
            message = f"harness ended this attempt: {self.fatal.message}"
            return await _refuse(writer, call.api, 400, message, "attempt_ended")
        refused = self._over_budget()
        if refused is not None:
            self._end(refused)
            return await _refuse(writer, call.api, 400, refused.message, "budget_exceeded")
        try:
            body = call.json_body()
        except ValueError as exc:
            self._event("model_error", call, message=str(exc))
            return await _refuse(writer, call.api, 400, str(exc))
        stored = self.settings.normalizer.stored(body)
        key = self.settings.normalizer.key(call.api, stored)
        request = ModelRequest(
            call.api,
            call.method,
            call.path,
            stored,
            key,
            request_digest(call.method, call.path, key),
        )
        replays = self.settings.mode in (RecordMode.replay, RecordMode.auto)
        if replays and await self._replay(call, request, writer):
            return None
        if self.fatal is None:
            await self._forward(call, request, writer)
        return None

    async def _replay(self, call: ModelCall, request: ModelRequest, writer: ResponseWriter) -> bool:
        """Answer from the cassette; False when auto mode should go upstream instead."""
        try:
            cassette = self._load()
        except CassetteError as exc:
            self._end(exc)
            await _refuse(writer, call.api, 400, exc.message, "cassette_miss")
            return True
        taken = cassette.take(request)
        if taken is None:
            if self.settings.mode is RecordMode.auto:
                return False
            message, details = cassette.miss(request, _source(self.gateway))
            self._end(ModelMissError(message, **details))
            await _refuse(writer, call.api, 400, message, "cassette_miss")
            return True
        entry = taken.recorded.entry
        if taken.out_of_order:
            self._out_of_order(call, taken.recorded.where)
        chaos = self._chaos()
        await replay_entry(entry, writer, scale=self.settings.timing_scale, chaos=chaos)
        self._count(entry, call, "replay", where=taken.recorded.where)
        return True

    async def _forward(
        self, call: ModelCall, request: ModelRequest, writer: ResponseWriter
    ) -> None:
        assert self.upstream is not None, "a mode that forwards has an upstream client"
        exchange = Exchange(call, request.stored, self.settings.normalizer.redactor)
        try:
            with self.pause_idle():
                entry = await forward(self.upstream, exchange, writer)
        except UpstreamUnavailable as exc:
            message = str(exc)
            self._end(ModelUpstreamError(message, api=call.api, path=call.path))
            if not exchange.started:
                await _refuse(writer, call.api, 502, message)
            return
        if entry.status in (401, 403):
            # The invoker's key was refused: no agent's doing, nothing worth recording, and
            # no retry of the attempt can help (harness.kinds: not retryable).
            upstream = self.settings.upstreams[call.api]
            key_env = self.settings.key_env[call.api]
            message = upstream.key_refused(entry.status, entry.body, key_env)
            self._end(ModelKeyRefusedError(message, api=call.api, path=call.path))
            return
        if self.settings.mode is not RecordMode.live:
            self.gateway.stage_model(entry)
        self._count(entry, call, "live" if self.settings.mode is RecordMode.live else "record")

    def _load(self) -> ModelCassette:
        if self._cassette is None:
            self._cassette = ModelCassette(self.gateway.model_entries(), self.settings.normalizer)
        return self._cassette

    def _chaos(self) -> random.Random | None:
        seed = self.settings.chaos_seed
        if seed is None:
            return None
        import random  # lazy: only `stream_chunking: chaos` draws anything

        return random.Random(f"{seed}:{self.attempt_id}:{self.calls}")

    def _count(
        self, entry: ModelEntry, call: ModelCall, source: str, where: str | None = None
    ) -> None:
        if entry.events is not None:
            usage = usage_of_events(entry.api, entry.events)
        elif call.path.endswith("/count_tokens"):
            usage = Usage()  # a count of a prompt, not tokens spent
        else:
            usage = usage_of_body(entry.api, entry.body)
        model = call.model or usage.model
        cost = self._cost(usage, model)
        if usage.tokens_in is not None:
            self.tokens_in = (self.tokens_in or 0) + usage.tokens_in
        if usage.tokens_out is not None:
            self.tokens_out = (self.tokens_out or 0) + usage.tokens_out
        if cost is not None:
            self.cost_usd = (self.cost_usd or 0.0) + cost
        self._event(
            "model_call",
            call,
            source=source,
            status=entry.status,
            streamed=entry.streamed,
            model=model,
            tokens_in=usage.tokens_in,
            tokens_out=usage.tokens_out,
            cost_usd=cost,
            recorded_at=where,
        )

    def _cost(self, usage: Usage, model: str | None) -> float | None:
        prices = self.settings.prices
        if not prices or usage.empty:
            return None
        cost = prices.cost(usage, model)
        if cost is None and model is not None and model not in self._unpriced:
            self._unpriced.add(model)
            self.log(f"model {model!r} has no price in model_proxy.pricing: not costed")
        return cost

    def _over_budget(self) -> BudgetExceededError | None:
        pairs = (
            ("max_tokens_out", self.budgets.max_tokens_out, self.tokens_out),
            ("max_cost_usd", self.budgets.max_cost_usd, self.cost_usd),
        )
        for name, limit, used in pairs:
            if limit is not None and used is not None and used > limit:
                return BudgetExceededError(name, limit, used)
        return None

    def _out_of_order(self, call: ModelCall, where: str) -> None:
        message = f"{where}: model call {call.method} {call.path} answered out of recorded order"
        self.log(message)
        if self.settings.strict:
            self._problems.append(Failure(type=FailureKind.CASSETTE_OUT_OF_ORDER, message=message))

    def _end(self, error: AttemptError) -> None:
        if self.fatal is None:
            self.fatal = error
        if self._scope is not None:
            self._scope.cancel()

    def _event(self, kind: str, call: ModelCall, **fields: Any) -> None:
        if self.on_event is not None:
            self.on_event(
                kind, {"api": call.api, "method": call.method, "path": call.path, **fields}
            )

    def log(self, message: str) -> None:
        """A warning on the attempt's trace."""
        if self.on_event is not None:
            self.on_event("log", {"level": "warning", "message": f"harness: {message}"})

    def finish(self) -> list[Failure]:
        """What the attempt's result lists besides the error that ended it: a fatal failure
        the conversation never saw, strict replay's findings (entries out of order, unused)."""
        failures = []
        if self.fatal is not None and not self.fatal_seen:
            failures.append(Failure(type=self.fatal.kind, message=self.fatal.message))
        failures += self._problems
        if self.settings.strict and self.settings.mode is RecordMode.replay:
            failures += self._unused()
        return failures

    def _unused(self) -> list[Failure]:
        if self._cassette is None:
            try:
                self._load()
            except CassetteError:
                return []
        assert self._cassette is not None
        return [
            Failure(
                type=FailureKind.CASSETTE_UNUSED,
                message=f"{r.where}: model call {r.entry.method} {r.entry.path} was never made",
            )
            for r in self._cassette.unused()
        ]


def _source(gateway: ToolGateway) -> str | None:
    path = getattr(gateway, "cassette_path", None)
    return None if path is None else str(path)


async def _refuse(
    writer: ResponseWriter, api: str, status: int, message: str, kind: str | None = None
) -> None:
    await writer.json(status, {"x-should-retry": "false"}, error_body(api, status, message, kind))
