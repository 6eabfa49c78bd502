"""Where an attempt's agent runs. An AgentHost runs a Conversation on a process and returns
the AttemptError that ended it, if any; it never raises one.

OwnProcess starts a process for the attempt and ends its whole group with it. KeptProcesses
(harness.attempt.persistent) keeps protocol-2 agents between attempts; ForkServers
(harness.attempt.forked) forks each attempt's process from a server that imported the agent's
framework once. `agent_reuse` chooses among them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Protocol

import anyio
from anyio.abc import Process

from harness.agent.pipes import PipeReceiveStream
from harness.agent.process import ExitNotice, open_agent
from harness.attempt.conversation import EXITED_READ_SECONDS, Conversation, cancel_when_exited
from harness.attempt.spec import attempt_environment
from harness.errors import AttemptError, UsageError

AGENT_REUSE_CHOICES = ("never", "per_worker", "fork")


def agent_reuse(option: str | None, suite_value: str | None) -> str:
    """`--agent-reuse` wins over the suite's `agent_reuse`, which wins over HARNESS_AGENT_REUSE
    (a default for suites that do not say); the default is per_worker, which keeps a process
    only when the agent announces multi_task."""
    value = option or suite_value or os.environ.get("HARNESS_AGENT_REUSE") or "per_worker"
    if value not in AGENT_REUSE_CHOICES:
        raise UsageError(
            f"--agent-reuse: unknown value {value!r}; use one of {', '.join(AGENT_REUSE_CHOICES)}"
        )
    return value


def environment(conversation: Conversation) -> Mapping[str, str] | None:
    """The environment of an attempt's own process, however it is started (None: harness's),
    with its model base URLs and keys when the suite has a model proxy."""
    route = conversation.route
    more = route.env() if route is not None else None
    return attempt_environment(conversation.agent.env, conversation.plan, more)


class AgentHost(Protocol):
    # Whether the host can run an attempt's agent in a folder of the attempt's own (a case's
    # workspace); one that cannot is bypassed for such attempts.
    own_cwd: bool

    async def run(self, conversation: Conversation) -> AttemptError | None: ...


class OwnProcess:
    """A process of the attempt's own: started, conversed with, then its group terminated."""

    own_cwd = True

    def open(self, conversation: Conversation) -> AbstractAsyncContextManager[Process]:
        """The attempt's process, whose group ends with the context: spawned here."""
        agent = conversation.agent
        return open_agent(
            agent.argv,
            cwd=agent.cwd,
            env=environment(conversation),
            grace_seconds=agent.grace_seconds,
        )

    async def run(self, conversation: Conversation) -> AttemptError | None:
        error: AttemptError | None = None
        route = conversation.open_route()
        try:
            async with self.open(conversation) as process:
                stderr = process.stderr
                if isinstance(process, ExitNotice) and isinstance(stderr, PipeReceiveStream):
                    # The processes harness starts itself report their stderr and their exit
                    # from the loop: the attempt needs no task besides its own.
                    stderr.deliver(conversation.sink.feed, conversation.sink.end)
                    exited = anyio.CancelScope()
                    process.on_exit(lambda: _end_soon(exited))
                    error = await _converse(conversation, process, exited)
                else:
                    async with anyio.create_task_group() as tasks:
                        assert stderr is not None
                        tasks.start_soon(conversation.sink.pump, stderr)
                        exited = anyio.CancelScope()
                        tasks.start_soon(cancel_when_exited, process, exited)
                        error = await _converse(conversation, process, exited)
                        tasks.cancel_scope.cancel()
        except AttemptError as exc:  # the start failed, or the host lost the process
            error = exc
        finally:
            conversation.sink.close()
            if route is not None:
                route.close()
        return error


async def _converse(
    conversation: Conversation, process: Process, exited: anyio.CancelScope
) -> AttemptError | None:
    """The conversation, ended early by `exited`, then the process finished. Errors are
    returned, not raised: raised through a task group they would arrive wrapped in an
    ExceptionGroup."""
    try:
        with exited:
            await conversation.converse(process)
        if exited.cancelled_caught:
            raise await conversation.closed_early(process, pipes_held=True)
    except AttemptError as exc:
        return exc
    finally:
        with anyio.CancelScope(shield=True):
            await conversation.finish_process(process)
    return None


def _end_soon(scope: anyio.CancelScope) -> None:
    """The agent exited: the conversation ends once its last lines have had time to be read,
    even if a grandchild keeps its stdout open (then no end of file ever comes). A deadline,
    not a task that waits for the exit: a task would cost every attempt its start and cancel."""
    due = anyio.current_time() + EXITED_READ_SECONDS
    scope.deadline = min(scope.deadline, due)


OWN_PROCESS = OwnProcess()
