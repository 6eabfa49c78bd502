"""Where an attempt's agent runs. An AgentHost runs a Conversation on a process and returns
the AttemptError that ended it, if any; it never raises one.

OwnProcess starts a process for the attempt and ends its whole group with it. KeptProcesses
(harness.attempt.persistent) keeps protocol-2 agents between attempts.
"""

from __future__ import annotations

from typing import Protocol

import anyio

from harness.agent.process import open_agent
from harness.attempt.conversation import Conversation, cancel_when_exited
from harness.attempt.spec import attempt_environment
from harness.errors import AttemptError


class AgentHost(Protocol):
    async def run(self, conversation: Conversation) -> AttemptError | None: ...


class OwnProcess:
    """A process of the attempt's own: spawned, conversed with, then its group terminated."""

    async def run(self, conversation: Conversation) -> AttemptError | None:
        agent = conversation.agent
        error: AttemptError | None = None
        try:
            async with (
                open_agent(
                    agent.argv,
                    cwd=agent.cwd,
                    env=attempt_environment(agent.env, conversation.plan),
                    grace_seconds=agent.grace_seconds,
                ) as process,
                anyio.create_task_group() as tasks,
            ):
                assert process.stderr is not None
                tasks.start_soon(conversation.sink.pump, process.stderr)
                exited = anyio.CancelScope()
                tasks.start_soon(cancel_when_exited, process, exited)
                # Errors are caught inside the task group: raised through it they would
                # arrive wrapped in an ExceptionGroup.
                try:
                    with exited:
                        await conversation.converse(process)
                    if exited.cancelled_caught:
                        raise await conversation.closed_early(process, pipes_held=True)
                except AttemptError as exc:
                    error = exc
                finally:
                    with anyio.CancelScope(shield=True):
                        await conversation.finish_process(process)
                    tasks.cancel_scope.cancel()
        except AttemptError as exc:  # the spawn itself failed
            error = exc
        finally:
            conversation.sink.close()
        return error


OWN_PROCESS = OwnProcess()
