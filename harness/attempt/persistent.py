"""Persistent agents (protocol 2, capability `multi_task`): agent processes kept between the
attempts of the workers, sent the next task_start after each final_output instead of being
spawned again. At most one process per worker is busy or idle at a time.

Budgets, cancellation and isolation stay per attempt. The process is discarded (its whole group
terminated) after a budget kill, a protocol error, a crash, any other attempt error or a
cancellation, and that worker's next attempt starts a fresh one. An agent that never says hello
is run exactly as before: one process per attempt, its stdin closed after final_output.

A kept process was started with the environment of its first attempt: HARNESS_MODEL, _TRIAL and
_SEED describe that task only, so a multi_task agent reads them from each task_start instead.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING

import anyio
from anyio.abc import Process, TaskGroup

from harness.agent.process import open_agent, terminate_group
from harness.agent.session import AgentChannel, StderrSink
from harness.attempt.conversation import Conversation, cancel_when_set, exited_and_read
from harness.attempt.host import OWN_PROCESS
from harness.attempt.spec import AgentSpec, attempt_environment
from harness.errors import AgentCrashedError, AttemptError
from harness.protocol.messages import MULTI_TASK

if TYPE_CHECKING:
    # the proxy loads only in suites with model_proxy
    from harness.proxy.session import RouteHandle

DRAIN_SECONDS = 0.5


@dataclass(eq=False)
class KeptProcess:
    """An agent process that may outlive one attempt: its pipes, stderr and exit watch."""

    spec: AgentSpec
    process: Process
    channel: AgentChannel
    stack: contextlib.AsyncExitStack
    sink: StderrSink | None = None
    exited: anyio.Event = field(default_factory=anyio.Event)
    stderr_ended: bool = False
    served: int = 0  # tasks finished on this process
    multi_task: bool = False
    # The process's model base URLs: routed to the attempt it runs now (model_proxy).
    route: RouteHandle | None = None


class KeptProcesses:
    """The AgentHost of kept agent processes, idle between two attempts: never more than the
    workers that use them. Enter it around the pool: its task group pumps the kept processes'
    stderr, and leaving it ends every process still kept."""

    own_cwd = False  # a kept process stays in the folder it started in

    def __init__(self) -> None:
        self._idle: list[KeptProcess] = []
        self._tasks: TaskGroup | None = None
        self.spawned = 0  # processes started, for tests and the bench
        # Agent commands that answered a task without announcing multi_task: their processes
        # are never kept, so their later attempts take the cheaper one-process-per-attempt path.
        self._single_task: list[AgentSpec] = []

    async def __aenter__(self) -> KeptProcesses:
        self._tasks = anyio.create_task_group()
        await self._tasks.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._tasks is not None
        await self.close_idle()
        self._tasks.cancel_scope.cancel()
        return await self._tasks.__aexit__(exc_type, exc, tb)

    async def close_idle(self) -> None:
        """End every kept process (a run is over, or its agents have been idle too long)."""
        idle, self._idle = self._idle, []
        with anyio.CancelScope(shield=True):
            for kept in idle:
                await _close(kept)

    async def _take(self, spec: AgentSpec) -> KeptProcess | None:
        """An idle process of this agent command, if one is alive; dead ones are closed."""
        for kept in list(self._idle):
            if kept.spec != spec:
                continue
            self._idle.remove(kept)
            if _alive(kept):
                return kept
            await _close(kept)
        return None

    async def run(self, attempt: Conversation) -> AttemptError | None:
        """Run `attempt` on an idle kept process, or on a new one. Returns the error that
        ended it, as every AgentHost does."""
        if attempt.agent in self._single_task:
            return await OWN_PROCESS.run(attempt)
        try:
            kept = await self._take(attempt.agent)
            if kept is not None:
                error = await self._run_on(kept, attempt)
                if not _stale(kept, attempt, error):
                    return error
                # It ended between two tasks, before reading this one: that is no failure of
                # the task, which starts over on a fresh process.
                attempt.restart()
            try:
                kept = await self._spawn(attempt)
            except AttemptError as exc:
                return exc
            return await self._run_on(kept, attempt)
        finally:
            attempt.sink.close()

    async def _run_on(self, kept: KeptProcess, attempt: Conversation) -> AttemptError | None:
        """One conversation on `kept`; afterwards the process is kept idle or discarded."""
        if kept.sink is not None and kept.sink is not attempt.sink:
            kept.sink.close()  # stderr written after the last final_output went to that log
        kept.sink = attempt.sink
        if kept.stderr_ended:
            attempt.sink.done.set()
        attempt.hello_allowed = kept.served == 0
        if kept.route is not None:
            kept.route.bind(attempt.model)
        keep = False
        try:
            error = await _converse(kept, attempt)
            if kept.served == 0:
                kept.multi_task = MULTI_TASK in (attempt.capabilities or ())
                if error is None and not kept.multi_task and kept.spec not in self._single_task:
                    self._single_task.append(kept.spec)
            keep = error is None and kept.multi_task and _alive(kept)
            return error
        finally:
            if kept.route is not None:
                kept.route.bind(None)  # between tasks, a call reaches no attempt
            if keep:
                kept.served += 1
                self._idle.append(kept)
            else:
                with anyio.CancelScope(shield=True):
                    await attempt.finish_process(kept.process)
                    await _close(kept)

    async def _spawn(self, attempt: Conversation) -> KeptProcess:
        spec = attempt.agent
        assert self._tasks is not None, "KeptProcesses used outside `async with`"
        stack = contextlib.AsyncExitStack()
        route = attempt.open_route()
        if route is not None:
            stack.callback(route.close)
        try:
            process = await stack.enter_async_context(
                open_agent(
                    spec.argv,
                    cwd=spec.cwd,
                    env=attempt_environment(spec.env, attempt.plan, route.env() if route else None),
                    grace_seconds=spec.grace_seconds,
                )
            )
        except BaseException:
            await stack.aclose()
            raise
        self.spawned += 1
        assert process.stdin is not None and process.stdout is not None
        channel = AgentChannel(process.stdin, process.stdout, spec.max_line_bytes)
        kept = KeptProcess(spec=spec, process=process, channel=channel, stack=stack, route=route)
        self._tasks.start_soon(_pump_stderr, kept)
        self._tasks.start_soon(_watch_exit, kept)
        return kept


async def _converse(kept: KeptProcess, attempt: Conversation) -> AttemptError | None:
    """The conversation, on a process that may already have served tasks."""
    error: AttemptError | None = None
    async with anyio.create_task_group() as tasks:
        exited = anyio.CancelScope()
        tasks.start_soon(cancel_when_set, kept.exited, exited)
        try:
            with exited:
                await attempt.converse(kept.process, kept.channel)
            if exited.cancelled_caught:
                raise await attempt.closed_early(kept.process, pipes_held=True)
        except AttemptError as exc:
            error = exc
        finally:
            tasks.cancel_scope.cancel()
    return error


def _alive(kept: KeptProcess) -> bool:
    return kept.process.returncode is None and not kept.exited.is_set()


def _stale(kept: KeptProcess, attempt: Conversation, error: AttemptError | None) -> bool:
    """A reused process that ended before answering this task with anything at all."""
    return (
        kept.served > 0
        and isinstance(error, AgentCrashedError)
        and attempt.counters.steps == 0
        and attempt.counters.tool_calls == 0
    )


async def _close(kept: KeptProcess) -> None:
    with anyio.CancelScope(shield=True):
        await terminate_group(kept.process, grace_seconds=kept.spec.grace_seconds)
        await _drain(kept.process)
        await kept.stack.aclose()
    if kept.sink is not None:
        kept.sink.close()


async def _drain(process: Process) -> None:
    """Read what is left on a dead group's stdout. A pipe stopped mid-read (say, by an oversized
    line) never reaches end of file otherwise, and its transport stays open past the run."""
    stream = process.stdout
    if stream is None:
        return
    with (
        anyio.move_on_after(DRAIN_SECONDS),
        contextlib.suppress(
            anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError
        ),
    ):
        while True:
            await stream.receive(1 << 16)


async def _pump_stderr(kept: KeptProcess) -> None:
    """Copies the process's stderr into the log of the attempt it is serving."""
    stream = kept.process.stderr
    assert stream is not None
    try:
        async for chunk in stream:
            if kept.sink is not None:
                kept.sink.feed(chunk)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        pass
    finally:
        kept.stderr_ended = True
        if kept.sink is not None:
            kept.sink.done.set()


async def _watch_exit(kept: KeptProcess) -> None:
    """Marks the process gone once it has exited and its last lines were read."""
    await exited_and_read(kept.process)
    kept.exited.set()
