"""One attempt's conversation with its agent: task_start, tool calls answered through the
gateway, final_output, all under the live budgets; and the state it leaves (counters, trace,
exit status) for the result.

Where the agent runs is an AgentHost's business (harness.attempt.host): a process of the
attempt's own, or one kept between attempts. A host calls `converse`, then `closed_early` when
the agent is gone too soon, then `finish_process`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import Process

from harness.agent.process import terminate_group, wait_for_exit
from harness.agent.session import AgentChannel, AgentClosedStdout, StderrSink
from harness.attempt.budgets import LiveBudget
from harness.attempt.normalization import Normalizer
from harness.attempt.spec import AgentSpec, AttemptPlan, OutputHook
from harness.attempt.trace import Trace
from harness.cassette.gateway import ToolGateway
from harness.errors import (
    AgentCrashedError,
    AgentProtocolError,
    AttemptError,
    TaskError,
    ToolNotAllowedError,
)
from harness.protocol.messages import (
    FinalOutput,
    Hello,
    Log,
    TaskErrorMessage,
    TaskStart,
    ToolCall,
    ToolResult,
    UsageReport,
)

if TYPE_CHECKING:
    # the proxy loads only in suites with model_proxy
    from harness.proxy.session import ModelSession, RouteHandle

# After final_output the agent gets this long to exit on its own once stdin closes, so its
# exit status can be recorded; then the group is terminated.
EXIT_WAIT_SECONDS = 1.0
# How long to wait for the rest of stderr once the agent has exited, for the error tail.
STDERR_SETTLE_SECONDS = 0.5
# Once the agent has exited, how long its remaining stdout lines may take to be read.
EXITED_READ_SECONDS = 0.5
# Bytes of log message lines kept in an attempt's trace (bounds memory; see Conversation._log).
MAX_TRACED_LOG_BYTES = 4 * 1024 * 1024


@dataclass
class Counters:
    """What the attempt's result counts, as the conversation goes."""

    tool_calls: int = 0
    tool_errors: int = 0
    calls_by_name: dict[str, int] = field(default_factory=dict)
    errors_by_name: dict[str, int] = field(default_factory=dict)
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: float | None = None
    steps: int = 0
    log_bytes: int = 0
    logs_dropped: bool = False

    def add_usage(self, tokens_in: int | None, tokens_out: int | None, cost: float | None) -> None:
        if tokens_in is not None:
            self.tokens_in = (self.tokens_in or 0) + tokens_in
        if tokens_out is not None:
            self.tokens_out = (self.tokens_out or 0) + tokens_out
        if cost is not None:
            self.cost_usd = (self.cost_usd or 0.0) + cost


class _NoOutput:
    pass


NO_OUTPUT: Any = _NoOutput()


@dataclass
class Conversation:
    """The state of one running attempt: the agent, its budget, the gateway, the trace."""

    plan: AttemptPlan
    agent: AgentSpec
    registry: frozenset[str]
    gateway: ToolGateway
    normalizer: Normalizer | None
    budget: LiveBudget
    sink: StderrSink
    trace: Trace
    on_output: OutputHook | None = None
    counters: Counters = field(default_factory=Counters)
    output: Any = NO_OUTPUT
    exit_code: int | None = None
    # Protocol 2: whether the agent may still say hello (only as a new process's first line),
    # and the capabilities it announced.
    hello_allowed: bool = True
    capabilities: tuple[str, ...] | None = None
    # The attempt's model calls (model_proxy); their usage is counted there, not reported.
    model: ModelSession | None = None
    # The model base URLs of the process this attempt runs on (opened by its host).
    route: RouteHandle | None = None

    def __post_init__(self) -> None:
        if self.model is not None:
            # Through self: restart() replaces the trace.
            self.model.on_event = lambda kind, fields: self.trace.model_event(kind, fields)
            self.model.pause_idle = self.budget.idle_paused

    def open_route(self) -> RouteHandle | None:
        """Base URLs for a new agent process, bound to this attempt (None: no model_proxy)."""
        if self.model is None:
            return None
        route = self.model.routes.open_route()
        route.bind(self.model)
        self.route = route
        return route

    @property
    def answered(self) -> bool:
        """The agent sent final_output."""
        return self.output is not NO_OUTPUT

    def restart(self) -> None:
        """Forget a try on a kept process that ended before it read the task: the task starts
        over on a fresh process, as if the first had never been asked."""
        self.trace = Trace(self.plan.case.id, self.plan.attempt_id)
        self.counters = Counters()
        self.exit_code = None
        self.capabilities = None
        self.sink.done = anyio.Event()  # the new process's stderr has not ended

    async def finish_process(self, process: Process) -> None:
        """Let a finished agent exit on its own (so its status is real), then end the group."""
        if self.answered:
            await wait_for_exit(process, min(EXIT_WAIT_SECONDS, self.agent.grace_seconds))
        await terminate_group(process, grace_seconds=self.agent.grace_seconds)
        self.exit_code = process.returncode
        if not self.sink.done.is_set():
            with anyio.move_on_after(STDERR_SETTLE_SECONDS):
                await self.sink.done.wait()

    async def converse(self, process: Process, channel: AgentChannel | None = None) -> None:
        """The whole conversation within the wall budget; raises the AttemptError that ends
        it early."""
        assert process.stdin is not None and process.stdout is not None
        if channel is None:
            channel = AgentChannel(process.stdin, process.stdout, self.agent.max_line_bytes)
        with self.budget.wall_scope() as wall, self.budget.idle_watch():
            # A stderr log that cannot be written stops the attempt now (harness.attempt.run
            # then raises it: the run cannot go on).
            self.sink.on_failure = wall.cancel
            if self.model is None:
                await self._exchange(channel, process)
            else:
                with self.model.watching():  # a model miss ends the conversation
                    await self._exchange(channel, process)
        if wall.cancelled_caught and self.sink.write_error is None:
            raise self.budget.wall_exceeded()

    async def _exchange(self, channel: AgentChannel, process: Process) -> None:
        plan, case, trace, counters = self.plan, self.plan.case, self.trace, self.counters
        trace.task_start(case.id, case.input)
        start = TaskStart(
            task_id=case.id, input=case.input, model=plan.model, trial=plan.trial, seed=plan.seed
        )
        await self.budget.send(channel, start)
        while True:
            try:
                message = await self.budget.receive(channel)
            except AgentClosedStdout:
                raise await self.closed_early(process) from None
            if isinstance(message, Hello):
                self._hello(message, channel.lines_read)
                continue
            self.hello_allowed = False
            counters.steps += 1
            match message:
                case ToolCall():
                    await self._answer_call(message, channel)
                case FinalOutput(output=output, usage=usage):
                    if self.agent.object_output and not isinstance(output, dict):
                        raise _not_an_object(output, channel.lines_read)
                    if usage is not None and self.model is None:
                        counters.add_usage(usage.tokens_in, usage.tokens_out, usage.cost_usd)
                    if self.normalizer is not None:
                        output = self.normalizer.apply(output)
                    trace.final_output(output)
                    self.output = output
                    return
                case Log():
                    self._log(message, channel.last_line_bytes)
                    if self.on_output is not None:
                        self.on_output("log", message.message)
                case TaskErrorMessage():
                    trace.task_error(message.message, message.data)
                    raise TaskError(
                        f"agent reported task_error: {message.message}{_where(message.data)}",
                        data=message.data,
                    )
                case UsageReport() if self.model is None:
                    counters.add_usage(message.tokens_in, message.tokens_out, message.cost_usd)
                    self.budget.check_usage_live(counters.tokens_out, counters.cost_usd)
                case UsageReport():
                    pass  # the model proxy counts what the provider says, not the agent

    def _log(self, message: Log, line_bytes: int) -> None:
        """Trace log messages up to MAX_TRACED_LOG_BYTES of lines: an agent that floods its
        stdout with logs would otherwise grow the trace, held until the attempt ends, without
        bound."""
        counters = self.counters
        counters.log_bytes += line_bytes
        if counters.log_bytes <= MAX_TRACED_LOG_BYTES:
            self.trace.log(message.level, message.message, message.data)
        elif not counters.logs_dropped:
            counters.logs_dropped = True
            note = f"harness: log messages past {MAX_TRACED_LOG_BYTES} bytes are not traced"
            self.trace.log("warning", note, None)

    def _hello(self, message: Hello, line: int) -> None:
        """Accept hello as the process's first line; it is neither a step nor traced, so results
        read the same with and without agent reuse."""
        if not self.hello_allowed:
            raise AgentProtocolError(
                f"agent stdout line {line}: hello is only valid as the agent's first line",
                line=line,
            )
        self.hello_allowed = False
        self.capabilities = tuple(message.capabilities)

    async def _answer_call(self, call: ToolCall, channel: AgentChannel) -> None:
        counters = self.counters
        counters.tool_calls += 1
        counters.calls_by_name[call.name] = counters.calls_by_name.get(call.name, 0) + 1
        self.trace.tool_call(call.name, call.call_id, call.args)
        self.budget.check_tool_calls(counters.tool_calls)
        if call.name not in self.registry:
            allowed = ", ".join(sorted(self.registry)) or "<none>"
            raise ToolNotAllowedError(
                f"Tool not allowed: {call.name}. Allowed tools: {allowed}", tool=call.name
            )
        interaction = await self.gateway.answer(call.name, call.args)
        result, error = interaction.result, interaction.error
        if self.normalizer is not None:
            result = self.normalizer.apply(result)
            if error is not None:
                error = self.normalizer.apply(error)
        await self.budget.send(
            channel,
            ToolResult(call_id=call.call_id, ok=interaction.ok, result=result, error=error),
        )
        self.trace.tool_result(call.call_id, interaction.ok, result, error)
        if not interaction.ok:
            counters.tool_errors += 1
            counters.errors_by_name[call.name] = counters.errors_by_name.get(call.name, 0) + 1
            self.budget.check_tool_errors(counters.tool_errors)

    async def closed_early(self, process: Process, *, pipes_held: bool = False) -> AttemptError:
        """The agent's stdout ended (or it exited) before final_output: say how, and what it
        wrote on stderr."""
        status = await wait_for_exit(process, EXIT_WAIT_SECONDS)
        with anyio.move_on_after(STDERR_SETTLE_SECONDS):
            await self.sink.done.wait()
        if status is None:
            how = "closed its stdout but kept running"
        elif status < 0:
            how = f"was killed by signal {-status}"
        else:
            how = f"exited with status {status}"
        message = f"agent {how} before sending final_output"
        if pipes_held:
            message += " (a process it started still holds its stdout open)"
        tail = self.sink.tail()
        if tail:
            message += f"\nAgent stderr (tail):\n{tail}"
        return AgentCrashedError(message, exit_code=status)


async def cancel_when_set(event: anyio.Event, scope: anyio.CancelScope) -> None:
    await event.wait()
    scope.cancel()


async def exited_and_read(process: Process) -> None:
    """Returns soon after the agent exits, even if a grandchild keeps its stdout open (then no
    end of file ever comes): the delay lets its last lines be read first."""
    await process.wait()
    await anyio.sleep(EXITED_READ_SECONDS)


async def cancel_when_exited(process: Process, scope: anyio.CancelScope) -> None:
    """Ends the conversation once the agent has exited and its last lines were read."""
    await exited_and_read(process)
    scope.cancel()


MAX_WHERE_CHARS = 200


def _where(data: Any) -> str:
    """` (at agent.py:12 in triage)`: the frame a task_error's `data.where` names (the Python
    SDK sends it, any agent may), so the console line says where the agent failed."""
    where = data.get("where") if isinstance(data, dict) else None
    if not isinstance(where, str) or not where.strip():
        return ""
    where = " ".join(where.split())  # one line, whatever the agent sent
    if len(where) > MAX_WHERE_CHARS:
        where = where[: MAX_WHERE_CHARS - 3] + "..."
    return f" (at {where})"


_JSON_KINDS = {
    str: "a string",
    list: "a list",
    bool: "a boolean",
    int: "a number",
    float: "a number",
}


def _not_an_object(output: Any, line: int) -> AgentProtocolError:
    """RunLedger's rule (its agent_error): the output is a JSON object, unless the suite says
    `output_type: any`."""
    kind = "null" if output is None else _JSON_KINDS.get(type(output), type(output).__name__)
    return AgentProtocolError(
        f"agent stdout line {line}: final_output.output must be a JSON object (RunLedger's "
        f"rule), got {kind}; return an object, or set `output_type: any` in suite.yaml to "
        "accept any JSON value"
    )
