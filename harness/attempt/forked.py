"""`agent_reuse: fork`: each attempt's agent is a fresh child of a fork server, a process of the
agent's own interpreter that imported the suite's `preload` once (harness.agent.forkserver).
One server per distinct agent command (a sweep's `{model}` makes several), started before the
first attempt.

Each attempt runs exactly as on a spawned process (OwnProcess: budgets, group kill, stderr,
exit status); only the start differs. Where forking cannot be trusted, the command's agents
are spawned instead and the run says why, once (`note`): a command that is not a Python script
or `-m` module, an interpreter without os.fork, a server with threads after preload, a server
that did not start, or one that died twice. A server's first death fails its attempts in
flight as `fork_server_lost` (retried) and it is started again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import anyio
from anyio.abc import Process, TaskGroup

from harness.agent.fork_target import ForkTarget, fork_target
from harness.agent.forkserver import (
    ForkServer,
    ForkServerError,
    PreloadError,
    open_forked,
)
from harness.agent.spawn import threaded_spawn_supported
from harness.attempt.conversation import Conversation
from harness.attempt.host import OWN_PROCESS, OwnProcess, environment
from harness.attempt.spec import AgentSpec
from harness.errors import AttemptError, ConfigError

# A server that dies more often than this is not started again: its agents are spawned.
MAX_SERVER_STARTS = 2


@dataclass(eq=False)
class _Command:
    """One agent command's server, and why its agents are spawned instead, if they are."""

    spec: AgentSpec
    target: ForkTarget | None
    server: ForkServer | None = None
    starts: int = 0
    spawning: str | None = None
    lock: anyio.Lock = field(default_factory=anyio.Lock)


class _OnServer(OwnProcess):
    """An attempt on a child of `server`, otherwise exactly as on a spawned process."""

    def __init__(self, server: ForkServer) -> None:
        self.server = server

    def open(self, conversation: Conversation) -> AbstractAsyncContextManager[Process]:
        agent = conversation.agent
        return open_forked(
            self.server,
            cwd=agent.cwd,
            env=environment(conversation),
            grace_seconds=agent.grace_seconds,
        )


class ForkServers:
    """The AgentHost of `agent_reuse: fork`. Enter it around the pool and `start` it with the
    run's agents; leaving it ends every server."""

    own_cwd = True  # each child gets its attempt's cwd

    def __init__(self, note: Callable[[str], None]) -> None:
        self.note = note  # says once, in the console and run.json, why agents are spawned
        self.preload: tuple[str, ...] = ()
        self.suite_file = Path()
        self.forked = 0  # attempts started on a server, for tests and the bench
        self._commands: dict[tuple[str, ...], _Command] = {}
        self._tasks: TaskGroup | None = None

    async def __aenter__(self) -> ForkServers:
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
        await self.close()
        self._tasks.cancel_scope.cancel()
        return await self._tasks.__aexit__(exc_type, exc, tb)

    async def close(self) -> None:
        """End every server (a run is over; a Ray worker's next run has other agents)."""
        with anyio.CancelScope(shield=True):
            for command in self._commands.values():
                if command.server is not None:
                    await command.server.close()
                    command.server = None
        self._commands.clear()

    async def start(
        self, agents: Iterable[AgentSpec], preload: Sequence[str], suite_file: Path
    ) -> None:
        """A server for each distinct agent command not served yet, all starting at once.
        Raises ConfigError (naming `suite_file`) when a `preload` module does not import."""
        self.preload, self.suite_file = tuple(preload), suite_file
        for spec in agents:
            if spec.argv not in self._commands:
                target = fork_target(spec.argv)
                command = _Command(spec, target if isinstance(target, ForkTarget) else None)
                self._commands[spec.argv] = command
                if isinstance(target, str):
                    self._spawn_instead(command, target)
        async with anyio.create_task_group() as starting:
            for command in self._commands.values():
                if command.spawning is None and command.server is None:
                    starting.start_soon(self._server, command)

    async def run(self, conversation: Conversation) -> AttemptError | None:
        command = self._commands.get(conversation.agent.argv)
        server = None if command is None else await self._server(command)
        if server is None:
            return await OWN_PROCESS.run(conversation)
        self.forked += 1
        return await _OnServer(server).run(conversation)

    async def _server(self, command: _Command) -> ForkServer | None:
        """The command's live server: started on first use, started again after it died
        once; None once its agents are spawned instead."""
        server = command.server
        if server is not None and not server.dead:
            return server
        async with command.lock:
            if command.server is not None and not command.server.dead:
                return command.server
            if command.server is not None:
                await command.server.close()
                command.server = None
            if command.spawning is not None:
                return None
            if command.starts >= MAX_SERVER_STARTS:
                self._spawn_instead(command, f"its fork server died {command.starts} times")
                return None
            command.starts += 1
            command.server = await self._started(command)
            return command.server

    async def _started(self, command: _Command) -> ForkServer | None:
        assert command.target is not None and self._tasks is not None
        if not threaded_spawn_supported():
            self._spawn_instead(command, "a fork server needs Linux and the asyncio backend")
            return None
        spec = command.spec
        try:
            server = await ForkServer.start(
                command.target,
                cwd=spec.cwd,
                env=spec.env,
                preload=self.preload,
                tasks=self._tasks,
            )
        except PreloadError as exc:
            if command.starts > 1:  # it imported before: say why it stopped, and go on
                self._spawn_instead(command, f"preload {exc.module!r} failed: {exc.message}")
                return None
            raise ConfigError(
                str(self.suite_file),
                f"{exc.module!r} failed to import in {spec.argv[0]}: {exc.message}; "
                "install it in the agent's environment or remove it from preload",
                field="preload",
            ) from None
        except ForkServerError as exc:
            self._spawn_instead(command, str(exc))
            return None
        unsafe = _unsafe(server.hello)
        if unsafe is not None:
            await server.close()
            self._spawn_instead(command, unsafe)
            return None
        return server

    def _spawn_instead(self, command: _Command, reason: str) -> None:
        command.spawning = reason
        shown = " ".join(command.spec.argv)
        self.note(f"agent_reuse: fork: spawning a process per attempt for `{shown}`: {reason}")


def _unsafe(hello: dict[str, object]) -> str | None:
    """Why forking this server would not be safe, from what it said at start."""
    if not hello.get("fork"):
        return f"its interpreter (Python {hello.get('python')}) has no os.fork"
    threads = hello.get("threads")
    if isinstance(threads, int) and threads > 1:
        return (
            f"the server runs {threads} threads after preload, and a fork copies only one "
            "(a lock another thread holds stays locked in every child); preload fewer modules, "
            "or limit the library's threads (e.g. OPENBLAS_NUM_THREADS=1)"
        )
    return None
