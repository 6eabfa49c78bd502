"""Agent processes started off the event loop.

`subprocess.Popen` returns only once the child has called exec, and on a busy machine the
child may wait several milliseconds for a CPU first. Called on the event loop (as asyncio's
own subprocess support does) that wait freezes every other attempt: no tool call is answered,
no message read, while one agent is being started. Here Popen runs in a worker thread, which
drops the GIL while it waits (CPython 3.11.6+ releases it around vfork), and the loop adopts
the finished child: its pipes are read and written on the loop (harness.agent.pipes) and its
exit is watched through a pidfd, so nothing needs a SIGCHLD handler or a reaper thread.

Used on Linux with the asyncio backend; elsewhere `open_agent` keeps `anyio.open_process`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import ByteReceiveStream, ByteSendStream, Process

from harness.agent.pipes import PipeFd, PipeReceiveStream, Pipes, PipeSendStream, adopt_pipes

_supported: bool | None = None
_limiters: dict[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = {}


def _spawn_limiter() -> anyio.CapacityLimiter:
    """Spawns get threads of their own: anyio's default pool also runs synchronous live tools,
    and 40 slow tool calls must not hold every agent start back. More spawns at once than
    cores only queue in the kernel."""
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        for stale in [other for other in _limiters if other.is_closed()]:
            del _limiters[stale]
        limiter = _limiters[loop] = anyio.CapacityLimiter(max(2, os.cpu_count() or 1))
    return limiter


def threaded_spawn_supported() -> bool:
    """True on Linux with pidfd (kernel 5.3+) under the asyncio backend, on a CPython that
    releases the GIL while vfork waits for exec (3.11.6+)."""
    global _supported
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # another backend (trio)
        return False
    if _supported is None:
        _supported = sys.version_info >= (3, 11, 6) and _pidfd_works()
    return _supported


def _pidfd_works() -> bool:
    if not hasattr(os, "pidfd_open"):
        return False
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:
        return False
    return True


def agent_popen_options(cwd: Path | None, env: Mapping[str, str] | None) -> dict[str, Any]:
    """How every agent is started, on either path: three pipes, its own session and group."""
    return {
        "stdin": subprocess.PIPE,
        "stdout": subprocess.PIPE,
        "stderr": subprocess.PIPE,
        "cwd": cwd,
        "env": dict(env) if env is not None else None,
        "start_new_session": True,
    }


async def spawn(
    argv: Sequence[str],
    *,
    cwd: Path | None,
    env: Mapping[str, str] | None,
    pass_fds: Sequence[int] = (),
) -> AdoptedProcess:
    """Start `argv` in a new session with three pipes (and `pass_fds` kept open in it). Raises
    OSError as Popen does."""
    pipes = Pipes()
    options = agent_popen_options(cwd, env)
    options["pass_fds"] = tuple(pass_fds)
    # Popen gets the child's pipe ends as plain fds: it then makes no pipes or file objects
    # of its own, and the worker thread gives the GIL back and forth far less often.
    options.update(stdin=pipes.child[0], stdout=pipes.child[1], stderr=pipes.child[2])
    popen_call: functools.partial[subprocess.Popen[bytes]] = functools.partial(
        subprocess.Popen, list(argv), **options
    )
    # Shielded: a cancellation while the thread runs would lose a started child. The caller
    # owns the process from here and ends its group if a cancellation is pending.
    with anyio.CancelScope(shield=True):
        try:
            popen = await anyio.to_thread.run_sync(popen_call, limiter=_spawn_limiter())
        except BaseException:
            pipes.close_all()
            raise
        pipes.close_child_ends()
        try:
            adopted = AdoptedProcess.adopt(popen, pipes.parent)
        except BaseException:
            _kill_now(popen)
            raise
    return adopted


def _kill_now(popen: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        popen.wait()


class AdoptedProcess(Process):
    """An anyio `Process` for a child started elsewhere: pipes and exit on the running loop."""

    def __init__(
        self,
        popen: subprocess.Popen[bytes],
        stdin: PipeSendStream,
        stdout: PipeReceiveStream,
        stderr: PipeReceiveStream,
    ) -> None:
        self._popen = popen
        self._stdin = stdin
        self._stdout = stdout
        self._stderr = stderr
        self._returncode: int | None = None
        self._exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    @classmethod
    def adopt(cls, popen: subprocess.Popen[bytes], pipes: list[PipeFd]) -> AdoptedProcess:
        """The child's pipes become the loop's transports, its exit is watched on the loop."""
        stdin, stdout, stderr = adopt_pipes(pipes)
        process = cls(popen, stdin, stdout, stderr)
        process._watch_exit(asyncio.get_running_loop())
        return process

    def _watch_exit(self, loop: asyncio.AbstractEventLoop) -> None:
        pid = self._popen.pid
        try:
            pidfd = os.pidfd_open(pid)
        except ProcessLookupError:  # already gone and reaped? cannot be: it is our child
            pidfd = -1
        if pidfd < 0:
            self._reap()
            return

        def exited() -> None:
            loop.remove_reader(pidfd)
            os.close(pidfd)
            self._reap()

        loop.add_reader(pidfd, exited)

    def _reap(self) -> None:
        try:
            _, status = os.waitpid(self._popen.pid, 0)
            code = os.waitstatus_to_exitcode(status)
        except ChildProcessError:  # reaped by someone else: the status is lost
            code = 255
        self._returncode = self._popen.returncode = code
        if not self._exited.done():
            self._exited.set_result(code)

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)

    def on_exit(self, callback: Callable[[], None]) -> None:
        """`callback()` on the loop when the child has exited (harness.agent.process.ExitNotice)."""
        if self._exited.done():
            callback()
        else:
            self._exited.add_done_callback(lambda _: callback())

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True) as scope:
            self._stdin.close()
            self._stdout.close()
            self._stderr.close()
            scope.shield = False
            try:
                await self.wait()
            except BaseException:
                scope.shield = True
                self.kill()
                await self.wait()
                raise

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def send_signal(self, value: int) -> None:
        if self._returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._popen.pid, value)

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        return self._returncode

    @property
    def stdin(self) -> ByteSendStream:
        return self._stdin

    @property
    def stdout(self) -> ByteReceiveStream:
        return self._stdout

    @property
    def stderr(self) -> ByteReceiveStream:
        return self._stderr
