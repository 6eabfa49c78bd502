"""One attempt, from spawn to AttemptResult: the conversation loop with live budgets.

The runner writes no run artifacts; it returns the result and the trace events. (The agent's
stderr is streamed to the log path it is given, because stderr can be larger than memory.)
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import Process

from harness.agent.process import open_agent, terminate_group, wait_for_exit
from harness.agent.session import AgentChannel, AgentClosedStdout, StderrSink
from harness.budgets import LiveBudget
from harness.cassette.gateway import ReplayGateway, ToolGateway
from harness.config.schema import Case
from harness.errors import (
    AgentCrashedError,
    AgentProtocolError,
    AttemptError,
    BudgetExceededError,
    TaskError,
    ToolNotAllowedError,
)
from harness.grading.engine import GradeOptions, Grading, failure_rows, grade_case
from harness.normalization import Normalizer
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
from harness.results import (
    BUDGET_EXCEEDED,
    ERROR,
    FAIL,
    FAILED,
    INFRA_ERROR,
    PASS,
    PASSED,
    UNGRADED,
    AttemptResult,
    Failure,
)
from harness.retry import TOOL_TRANSIENT, InfraFailure, infra_failure
from harness.trace import Trace
from harness.workspace import Workspace, WorkspaceError, open_workspace

if TYPE_CHECKING:
    from harness.agent.persistent import AgentSlots

# After final_output the agent gets this long to exit on its own once stdin closes, so its
# exit status can be recorded; then the group is terminated.
EXIT_WAIT_SECONDS = 1.0
# How long to wait for the rest of stderr once the agent has exited, for the error tail.
STDERR_SETTLE_SECONDS = 0.5
# Once the agent has exited, how long its remaining stdout lines may take to be read.
EXITED_READ_SECONDS = 0.5
# Bytes of log message lines kept in an attempt's trace (bounds memory; see _Attempt._log).
MAX_TRACED_LOG_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class AgentSpec:
    """How to start the agent: resolved once per run."""

    argv: tuple[str, ...]
    cwd: Path | None
    env: Mapping[str, str] | None
    max_line_bytes: int
    grace_seconds: float
    # Exit statuses the agent uses to say "transient, retry me" (the suite's retry.exit_codes).
    retry_exit_codes: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)  # a sweep plans 100,000 of them: no __dict__ each
class AttemptPlan:
    attempt_id: str
    case: Case
    model: str | None = None
    trial: int | None = None
    seed: int | None = None


@dataclass
class AttemptOutput:
    result: AttemptResult
    trace: Trace
    retryable: bool = False  # an infrastructure failure that another try may not have


# Streams an agent's stderr chunks and log messages as they arrive (`--verbose`).
OutputHook = Callable[[str, str], None]


@dataclass
class _Counters:
    tool_calls: int = 0
    tool_errors: int = 0
    calls_by_name: dict[str, int] = field(default_factory=dict)
    errors_by_name: dict[str, int] = field(default_factory=dict)
    call_names: list[str] = field(default_factory=list)
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: float | None = None
    steps: int = 0
    log_bytes: int = 0
    logs_dropped: bool = False


async def run_attempt(
    plan: AttemptPlan,
    agent: AgentSpec,
    *,
    keep_workspace_under: Path | None = None,
    **options: Any,
) -> AttemptOutput:
    """Run one attempt in a fresh workspace when its case has one (the agent's cwd, where
    run-command and file graders look); the workspace goes when grading is done, unless kept
    under `keep_workspace_under`. The options are `_run_attempt`'s."""
    workspace_spec = plan.case.workspace
    if workspace_spec is None:
        return await _run_attempt(plan, agent, **options)
    try:
        async with open_workspace(
            workspace_spec, plan.attempt_id, keep_under=keep_workspace_under
        ) as workspace:
            # A kept agent process lives in another folder: this attempt gets its own.
            options["agents"] = None
            moved = dataclasses.replace(agent, cwd=workspace.path)
            return await _run_attempt(plan, moved, workspace=workspace, **options)
    except WorkspaceError as exc:
        return _not_started(plan, exc)


def _not_started(plan: AttemptPlan, exc: AttemptError) -> AttemptOutput:
    trace = Trace(plan.case.id, plan.attempt_id)
    trace.error(exc.kind, exc.message)
    trace.end(False, 0)
    failure = _failure_from(exc)
    result = AttemptResult(
        case_id=plan.case.id,
        attempt_id=plan.attempt_id,
        status=ERROR,
        wall_ms=0,
        failures=[failure],
        assertions_total=len(plan.case.assertions),
        model=plan.model,
        trial=plan.trial,
        seed=plan.seed,
        outcome=INFRA_ERROR,
        infra_reason=failure.type,
    )
    return AttemptOutput(result=result, trace=trace)


async def _run_attempt(
    plan: AttemptPlan,
    agent: AgentSpec,
    *,
    tool_registry: frozenset[str],
    strict: bool,
    stderr_path: Path | None,
    gateway: ToolGateway | None = None,
    on_output: OutputHook | None = None,
    agents: AgentSlots | None = None,
    redact_line: Callable[[bytes], bytes] | None = None,
    grading: GradeOptions | None = None,
    workspace: Workspace | None = None,
) -> AttemptOutput:
    """Run one attempt of a case and judge it. Never raises an AttemptError.

    `on_output(kind, text)` sees each stderr chunk (kind "stderr") and log message ("log").
    With `agents`, the attempt runs on the worker's kept agent process when it has one."""
    case = plan.case
    attempt = _Attempt(
        plan=plan,
        agent=agent,
        registry=tool_registry,
        gateway=gateway or ReplayGateway(case.cassette_path, strict=strict),
        normalizer=Normalizer(case.normalization) if case.normalization else None,
        budget=LiveBudget(case.budgets),
        sink=StderrSink(stderr_path, echo=_echo_stderr(on_output), redact=redact_line),
        trace=Trace(case.id, plan.attempt_id),
        on_output=on_output,
        agents=agents,
    )
    error = await attempt.run()
    wall_ms = attempt.budget.elapsed_ms()
    counters = attempt.counters
    failures: list[Failure] = []
    if error is not None:
        failures.append(_failure_from(error))
        attempt.trace.error(error.kind, error.message)
    grading = grading or GradeOptions()
    graded = None
    if attempt.output is not _NO_OUTPUT and not grading.skip:
        graded = await _grade(case, attempt.trace, grading, workspace)
        failures.extend(graded.failures if graded is not None else [])
    completed = error is None and attempt.output is not _NO_OUTPUT
    failures = _with_gateway(failures, attempt.gateway.finish(completed=completed))
    if not isinstance(error, BudgetExceededError):
        failures.extend(attempt.budget.check_usage(counters.tokens_out, counters.cost_usd))
    ungraded = grading.skip and not failures
    status = UNGRADED if ungraded else _status(failures)
    infra = infra_failure(failures, agent.retry_exit_codes)
    attempt.trace.end(status == PASS, wall_ms)
    sink = attempt.sink
    exit_code = attempt.exit_code
    result = AttemptResult(
        case_id=case.id,
        attempt_id=plan.attempt_id,
        status=status,
        wall_ms=wall_ms,
        failures=failures,
        tool_calls=counters.tool_calls,
        tool_errors=counters.tool_errors,
        tool_calls_by_name=counters.calls_by_name,
        tool_errors_by_name=counters.errors_by_name,
        assertions_total=len(case.assertions),
        assertions_failed=sum(1 for f in failures if f.type == "assertion_failed"),
        exit_code=exit_code if exit_code is None or exit_code >= 0 else None,
        signal=-exit_code if exit_code is not None and exit_code < 0 else None,
        stderr_tail=sink.tail() if status != PASS and sink.total_bytes else None,
        stderr_path=str(stderr_path) if stderr_path is not None and sink.total_bytes else None,
        cassette_path=str(case.cassette_path) if case.cassette_path else None,
        cassette_sha256=getattr(attempt.gateway, "sha256", None),
        tokens_in=counters.tokens_in,
        tokens_out=counters.tokens_out,
        cost_usd=counters.cost_usd,
        steps=counters.steps,
        model=plan.model,
        trial=plan.trial,
        seed=plan.seed,
        outcome="" if ungraded else _outcome(failures, infra),
        infra_reason=infra.reason if infra is not None else None,
        score=graded.decision.score if graded is not None else None,
        threshold=graded.decision.threshold if graded is not None else None,
        verdicts=graded.verdicts if graded is not None else [],
        workspace=str(workspace.path) if workspace is not None and workspace.kept else None,
    )
    retryable = infra is not None and infra.retryable
    return AttemptOutput(result=result, trace=attempt.trace, retryable=retryable)


class _NoOutput:
    pass


_NO_OUTPUT: Any = _NoOutput()


@dataclass
class _Attempt:
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
    agents: AgentSlots | None = None
    counters: _Counters = field(default_factory=_Counters)
    output: Any = _NO_OUTPUT
    exit_code: int | None = None
    # Protocol 2: whether the agent may still say hello (only as a new process's first line),
    # and the capabilities it announced.
    hello_allowed: bool = True
    capabilities: tuple[str, ...] | None = None

    async def run(self) -> AttemptError | None:
        """Spawn, converse, tear down. Returns the error that ended the attempt, if any."""
        if self.agents is not None:
            return await self.agents.run(self)
        return await self.run_own_process()

    async def run_own_process(self) -> AttemptError | None:
        """`run` on a process of this attempt's own, ended with it."""
        agent = self.agent
        error: AttemptError | None = None
        try:
            async with (
                open_agent(
                    agent.argv,
                    cwd=agent.cwd,
                    env=_attempt_env(agent.env, self.plan),
                    grace_seconds=agent.grace_seconds,
                ) as process,
                anyio.create_task_group() as tasks,
            ):
                assert process.stderr is not None
                tasks.start_soon(self.sink.pump, process.stderr)
                exited = anyio.CancelScope()
                tasks.start_soon(_cancel_when_exited, process, exited)
                # Errors are caught inside the task group: raised through it they would
                # arrive wrapped in an ExceptionGroup.
                try:
                    with exited:
                        await self._converse_within_budget(process)
                    if exited.cancelled_caught:
                        raise await self._closed_early(process, pipes_held=True)
                except AttemptError as exc:
                    error = exc
                finally:
                    with anyio.CancelScope(shield=True):
                        await self._finish_process(process)
                    tasks.cancel_scope.cancel()
        except AttemptError as exc:  # the spawn itself failed
            error = exc
        finally:
            self.sink.close()
        return error

    async def _finish_process(self, process: Process) -> None:
        """Let a finished agent exit on its own (so its status is real), then end the group."""
        if self.output is not _NO_OUTPUT:
            await wait_for_exit(process, min(EXIT_WAIT_SECONDS, self.agent.grace_seconds))
        await terminate_group(process, grace_seconds=self.agent.grace_seconds)
        self.exit_code = process.returncode
        with anyio.move_on_after(STDERR_SETTLE_SECONDS):
            await self.sink.done.wait()

    async def _converse_within_budget(
        self, process: Process, channel: AgentChannel | None = None
    ) -> None:
        assert process.stdin is not None and process.stdout is not None
        if channel is None:
            channel = AgentChannel(process.stdin, process.stdout, self.agent.max_line_bytes)
        with self.budget.wall_scope() as wall, self.budget.idle_watch():
            await self._converse(channel, process)
        if wall.cancelled_caught:
            raise self.budget.wall_exceeded()

    async def _converse(self, channel: AgentChannel, process: Process) -> None:
        plan, case, trace, counters = self.plan, self.plan.case, self.trace, self.counters
        trace.task_start(case.id, case.input)
        await self.budget.send(
            channel,
            TaskStart(
                task_id=case.id,
                input=case.input,
                model=plan.model,
                trial=plan.trial,
                seed=plan.seed,
            ),
        )
        while True:
            try:
                message = await self.budget.receive(channel)
            except AgentClosedStdout:
                raise await self._closed_early(process) from None
            if isinstance(message, Hello):
                self._hello(message, channel.lines_read)
                continue
            self.hello_allowed = False
            counters.steps += 1
            match message:
                case ToolCall():
                    await self._answer_call(message, channel)
                case FinalOutput(output=output, usage=usage):
                    if usage is not None:
                        _add_usage(counters, usage.tokens_in, usage.tokens_out, usage.cost_usd)
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
                        f"agent reported task_error: {message.message}", data=message.data
                    )
                case UsageReport():
                    _add_usage(counters, message.tokens_in, message.tokens_out, message.cost_usd)
                    self.budget.check_usage_live(counters.tokens_out, counters.cost_usd)

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
        counters.call_names.append(call.name)
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

    async def _closed_early(self, process: Process, *, pipes_held: bool = False) -> AttemptError:
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


async def _cancel_when_exited(process: Process, scope: anyio.CancelScope) -> None:
    """Ends the conversation soon after the agent exits, even if a grandchild keeps its stdout
    open (then no end of file ever comes). The delay lets its last lines be read first."""
    await process.wait()
    await anyio.sleep(EXITED_READ_SECONDS)
    scope.cancel()


def _add_usage(
    counters: _Counters, tokens_in: int | None, tokens_out: int | None, cost: float | None
) -> None:
    if tokens_in is not None:
        counters.tokens_in = (counters.tokens_in or 0) + tokens_in
    if tokens_out is not None:
        counters.tokens_out = (counters.tokens_out or 0) + tokens_out
    if cost is not None:
        counters.cost_usd = (counters.cost_usd or 0.0) + cost


async def _grade(
    case: Case, trace: Trace, options: GradeOptions, workspace: Workspace | None
) -> Grading | None:
    graded = await grade_case(
        case, trace.events, options=options, workspace=workspace.path if workspace else None
    )
    if graded is not None and graded.failing:
        trace.assertion_failures(failure_rows(graded.failing))
    return graded


def _failure_from(exc: AttemptError) -> Failure:
    details = {key: value for key, value in exc.details.items() if value is not None}
    if isinstance(exc, BudgetExceededError):
        return Failure(
            type=exc.kind,
            message=exc.message,
            expected=exc.limit,
            observed=exc.used,
            details=details,
        )
    return Failure(type=exc.kind, message=exc.message, details=details or None)


_ERROR_KINDS = frozenset(
    {
        "protocol_error",
        "agent_exited",
        "spawn_error",
        "task_error",
        "cassette_error",
        "cassette_not_written",
        TOOL_TRANSIENT,
        "grader_error",
        "workspace_error",
    }
)


def _with_gateway(failures: list[Failure], ended: list[Failure]) -> list[Failure]:
    """A live tool that could not be reached comes first: it is why the attempt went wrong,
    and the pool retries an attempt whose first failure is transient."""
    transient = [f for f in ended if f.type == TOOL_TRANSIENT]
    return [*transient, *failures, *(f for f in ended if f.type != TOOL_TRANSIENT)]


def _attempt_env(env: Mapping[str, str] | None, plan: AttemptPlan) -> Mapping[str, str] | None:
    """The agent's environment plus HARNESS_MODEL / HARNESS_TRIAL / HARNESS_SEED when set."""
    extra = {
        name: str(value)
        for name, value in (
            ("HARNESS_MODEL", plan.model),
            ("HARNESS_TRIAL", plan.trial),
            ("HARNESS_SEED", plan.seed),
        )
        if value is not None
    }
    if not extra:
        return env
    return {**(os.environ if env is None else env), **extra}


def _echo_stderr(on_output: OutputHook | None) -> Callable[[bytes], None] | None:
    if on_output is None:
        return None
    return lambda chunk: on_output("stderr", chunk.decode("utf-8", errors="replace"))


def _outcome(failures: Sequence[Failure], infra: InfraFailure | None) -> str:
    """passed, failed, budget_exceeded or infra_error (see harness.results)."""
    if not failures:
        return PASSED
    if infra is not None:
        return INFRA_ERROR
    if any(f.type == "budget_exceeded" for f in failures):
        return BUDGET_EXCEEDED
    return FAILED


def attempt_status(failures: Sequence[Failure]) -> str:
    """pass, error (the first failure is of an error kind) or fail; `harness grade` too."""
    return _status(failures)


def _status(failures: Sequence[Failure]) -> str:
    if not failures:
        return PASS
    return ERROR if failures[0].type in _ERROR_KINDS else FAIL
