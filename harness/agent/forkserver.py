"""The harness side of a fork server (`agent_reuse: fork`): start the agent's own interpreter on
harness/agent/fork_bootstrap.py, which imports the suite's `preload` once, then ask it for one
fresh child per attempt.

A child is a `ForkedProcess` (harness.agent.forked_process): an anyio Process whose pipes
harness made (and sent to the server with SCM_RIGHTS), in a session and process group of its
own, signalled and group-killed as a spawned agent is. harness is not its parent, so its exit
status comes from the server. If the server dies, its live children are killed and marked
`lost`, and `open_forked` raises ForkServerLostError for their attempts (infrastructure,
retried).
"""

from __future__ import annotations

import array
import collections
import contextlib
import itertools
import json
import os
import signal
import socket
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import (
    ByteReceiveStream,
    SocketAttribute,
    TaskGroup,
    UNIXSocketStream,
)
from anyio.streams.buffered import BufferedByteReceiveStream

from harness.agent.fork_target import ForkTarget
from harness.agent.forked_process import ChildExit, ForkedProcess
from harness.agent.pipes import LineDelivery, Pipes, adopt_pipes
from harness.agent.process import live_groups, terminate_group
from harness.agent.spawn import AdoptedProcess, spawn
from harness.errors import ForkServerLostError, SpawnError

BOOTSTRAP = Path(__file__).with_name("fork_bootstrap.py")
# Importing a framework can take seconds on a loaded machine; a server that says nothing for this
# long is taken as broken, and the run spawns instead.
HELLO_TIMEOUT_SECONDS = 120.0
# A fork takes milliseconds; a server that takes this long to answer one is stuck.
REPLY_TIMEOUT_SECONDS = 60.0
MAX_MESSAGE_BYTES = 1 << 20
TAIL_BYTES = 4096


class ForkServerError(Exception):
    """The server could not start or serve: harness spawns this command's agents instead."""


class PreloadError(Exception):
    """A `preload` module failed to import in the agent's interpreter."""

    def __init__(self, module: str, message: str) -> None:
        self.module = module
        self.message = message
        super().__init__(f"{module}: {message}")


class ForkServer:
    """One running server: its process, the control socket, the children it has not reported
    ended yet. Its reader task runs in the task group given to `start`."""

    def __init__(
        self, target: ForkTarget, process: AdoptedProcess, control: UNIXSocketStream
    ) -> None:
        self.target = target
        self.process = process
        self.hello: dict[str, Any] = {}
        self.dead = False
        self._control = control
        self._socket: socket.socket = control.extra(SocketAttribute.raw_socket)
        self._messages = BufferedByteReceiveStream(control)  # until the hello
        self._lines: LineDelivery | None = None  # after it
        self._send_lock = anyio.Lock()
        self._ids = itertools.count(1)
        self._replies: dict[int, tuple[anyio.Event, list[dict[str, Any]]]] = {}
        self._exits: dict[int, ChildExit] = {}
        self._tail: collections.deque[bytes] = collections.deque(maxlen=64)

    @classmethod
    async def start(
        cls,
        target: ForkTarget,
        *,
        cwd: Path | None,
        env: Mapping[str, str] | None,
        preload: Sequence[str],
        tasks: TaskGroup,
    ) -> ForkServer:
        """Start the server and wait for its hello. Raises PreloadError, or ForkServerError."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # The agent's script or module is named too, so that `ps` shows whose server it is.
        agent = target.script if target.script is not None else f"-m {target.module}"
        config = {"agent": agent, "preload": list(preload), "path0": target.path0(cwd)}
        argv = [*target.interpreter, str(BOOTSTRAP), str(theirs.fileno()), json.dumps(config)]
        try:
            with theirs:
                process = await spawn(argv, cwd=cwd, env=env, pass_fds=(theirs.fileno(),))
        except OSError as exc:
            ours.close()
            raise ForkServerError(f"cannot start {target.interpreter[0]}: {exc}") from exc
        server = cls(target, process, await UNIXSocketStream.from_socket(ours))
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
            await process.stdin.aclose()
        tasks.start_soon(server._keep_tail, process.stdout)
        tasks.start_soon(server._keep_tail, process.stderr)
        try:
            server.hello = await server._hello()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await server.close()
            raise
        # Replies and exit statuses are read by the loop itself: no task wakes per message.
        server._lines = LineDelivery(
            ours.fileno(),
            server._on_message,
            server._lose_children,
            max_line=MAX_MESSAGE_BYTES,
            buffered=bytes(server._messages.buffer),
        )
        return server

    async def _hello(self) -> dict[str, Any]:
        with anyio.move_on_after(HELLO_TIMEOUT_SECONDS):
            try:
                message = json.loads(await self._next_line())
            except (anyio.EndOfStream, anyio.IncompleteRead, anyio.BrokenResourceError):
                with anyio.move_on_after(1):
                    await self.process.wait()
                raise ForkServerError(f"the fork server exited at start{self.tail()}") from None
            if "preload_error" in message:
                raise PreloadError(str(message["preload_error"]), str(message.get("message")))
            return dict(message["hello"])
        raise ForkServerError(f"the fork server said nothing in {HELLO_TIMEOUT_SECONDS:.0f} s")

    async def _next_line(self) -> bytes:
        return await self._messages.receive_until(b"\n", MAX_MESSAGE_BYTES)

    async def _keep_tail(self, stream: ByteReceiveStream) -> None:
        """What the server writes (an import's warning, its own traceback), for error messages."""
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            async for chunk in stream:
                self._tail.append(chunk)

    def tail(self) -> str:
        text = b"".join(self._tail)[-TAIL_BYTES:].decode("utf-8", "replace").strip()
        return f"; it wrote:\n{text}" if text else ""

    def _on_message(self, line: bytes) -> None:
        """A reply to a fork request, or an exit status; anything else ends the reading."""
        try:
            message = json.loads(line)
            if "exited" in message:
                ended = self._exits.pop(int(message["exited"]), None)
                if ended is not None:
                    ended.end(int(message["status"]))
                return
            request = int(message.get("started", message.get("failed", 0)))
            if "started" in message:
                # Registered before the requester runs: the exit may be the next message.
                message["exit"] = self._exits[int(message["pid"])] = ChildExit(anyio.Event())
        except (ValueError, TypeError, KeyError, AttributeError):
            assert self._lines is not None
            self._lines.stop()
            return
        waiter = self._replies.pop(request, None)
        if waiter is not None:
            waiter[1].append(message)
            waiter[0].set()

    def _lose_children(self) -> None:
        """The server is gone: its children cannot be reported, so they are killed now and
        their attempts end as infrastructure failures."""
        self.dead = True
        for pid, ended in self._exits.items():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            ended.end(-signal.SIGKILL, lost=True)
        self._exits.clear()
        for event, reply in self._replies.values():
            reply.append({"lost": True})
            event.set()
        self._replies.clear()

    async def fork(self, cwd: Path | None, env: Mapping[str, str] | None) -> ForkedProcess:
        """A new child for one attempt. Raises OSError as a spawn would (a bad cwd), or
        ForkServerLostError. Shielded: a child the server started is never lost track of."""
        with anyio.CancelScope(shield=True):
            pipes = Pipes()
            try:
                reply = await self._request(pipes, cwd, env)
            except BaseException:
                pipes.close_all()
                raise
            if "pid" not in reply:
                pipes.close_all()
                if reply.get("lost"):
                    raise ForkServerLostError(f"the fork server exited{self.tail()}")
                code = reply.get("errno")
                raise OSError(code if isinstance(code, int) else 0, str(reply.get("message")))
            pid, ended = int(reply["pid"]), reply["exit"]
            try:
                stdin, stdout, stderr = adopt_pipes(pipes.parent)
            except BaseException:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
                raise
        return ForkedProcess(pid, ended, stdin, stdout, stderr)

    async def _request(
        self, pipes: Pipes, cwd: Path | None, env: Mapping[str, str] | None
    ) -> dict[str, Any]:
        if self.dead:
            raise ForkServerLostError(f"the fork server exited{self.tail()}")
        request_id = next(self._ids)
        target = self.target
        request = {
            "id": request_id,
            "program": target.interpreter[0],
            "argv": target.child_argv,
            "script": target.script,
            "module": target.module,
            "cwd": None if cwd is None else str(cwd),
            "env": None if env is None else dict(env),
        }
        replied = anyio.Event()
        reply: list[dict[str, Any]] = []
        self._replies[request_id] = (replied, reply)
        line = json.dumps(request, separators=(",", ":")).encode() + b"\n"
        try:
            await self._send(line, pipes.child)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            self._replies.pop(request_id, None)
            raise ForkServerLostError(f"the fork server exited{self.tail()}") from None
        finally:
            # The server holds its own copies now (or never will): ours would keep the
            # child's stdin open and its stdout from ever ending.
            pipes.close_child_ends()
        with anyio.move_on_after(REPLY_TIMEOUT_SECONDS):
            await replied.wait()
            return reply[0]
        # A server that forks nothing for this long is stuck: ended, its children with it (its
        # reader then fails every request still waiting).
        self.process.kill()
        raise ForkServerLostError(
            f"the fork server did not start the agent in {REPLY_TIMEOUT_SECONDS:.0f} s{self.tail()}"
        )

    async def _send(self, line: bytes, fds: list[int]) -> None:
        """`line` with `fds`, whole: at once when the socket takes it (the usual case: no loop
        trip), else the rest after the loop says it may; one request at a time either way."""
        if self._send_lock.locked():  # another request is part way out: after it
            async with self._send_lock:
                await self._control.send_fds(line, fds)
            return
        self._send_lock.acquire_nowait()
        try:
            rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))]
            try:
                sent = self._socket.sendmsg([line], rights)
            except BlockingIOError:
                await self._control.send_fds(line, fds)
                return
            if sent < len(line):
                await self._control.send(line[sent:])  # the fds went with the first bytes
        finally:
            self._send_lock.release()

    async def close(self) -> None:
        """Hang up (the server exits on its own), then end its group whatever it does."""
        if self._lines is not None:
            self._lines.stop()  # before the socket's fd is closed
        with anyio.CancelScope(shield=True):
            with contextlib.suppress(OSError, anyio.BrokenResourceError):
                await self._control.aclose()
            with anyio.move_on_after(1):
                await self.process.wait()
            await terminate_group(self.process, grace_seconds=1)
            with contextlib.suppress(OSError, anyio.BrokenResourceError):
                await self.process.aclose()


@contextlib.asynccontextmanager
async def open_forked(
    server: ForkServer,
    *,
    cwd: Path | None,
    env: Mapping[str, str] | None,
    grace_seconds: float,
) -> AsyncIterator[ForkedProcess]:
    """A child of `server` for one attempt; on exit its whole group is terminated, as
    open_agent does for a spawned agent. Raises SpawnError as a spawn would, and
    ForkServerLostError (once the group is gone) if the server died before the child ended."""
    try:
        process = await server.fork(cwd, env)
    except OSError as exc:
        raise SpawnError(
            f"could not start agent {server.target.interpreter[0]!r}: {exc.strerror or exc}",
            errno=exc.errno,
        ) from exc
    live_groups.add(process.pid)
    try:
        yield process
    finally:
        with anyio.CancelScope(shield=True):
            await terminate_group(process, grace_seconds=grace_seconds)
            live_groups.discard(process.pid)
            await process.aclose()
    if process.lost:
        raise ForkServerLostError(
            f"the fork server died while the agent ran (pid {process.pid}){server.tail()}"
        )
