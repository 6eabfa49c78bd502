"""MCP tools: a server spoken to over stdio with the official `mcp` SDK (`harness[mcp]`).

Each server is started once per run (and again, up to MAX_RESTARTS times, if it dies) and
shared by every attempt (the session multiplexes
concurrent `tools/call` requests). At start its `tools/list` is checked against the tools the
suite maps to it. A result with `isError` is a tool error; the structured content, else the text
(one block: the string), else the content blocks as JSON, is the result. The server's stderr
goes through redaction into `tools/mcp-<server>.stderr.log` in the run directory.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TextIO

import anyio
from anyio import TASK_STATUS_IGNORED
from anyio.abc import TaskStatus

from harness.errors import InfrastructureError
from harness.tools.backend import ToolFailure, ToolUnavailable, describe_exception

if TYPE_CHECKING:
    from mcp import ClientSession

    from harness.tools.backend import Redacts

_LOST = (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream)
# A server that dies is started again this many times in one run, then its tools stay down.
MAX_RESTARTS = 3


def _is_connection_lost(exc: Exception) -> bool:
    """The SDK reports a dead server's pending requests as an MCP error ("Connection closed")."""
    return "connection closed" in str(exc).lower()


class McpServer:
    """One running server: its session and the names of the tools it offers."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        cwd: Path | None,
        env: Mapping[str, str],
        start_timeout_ms: int,
        log_path: Path | None,
        redactor: Redacts,
    ) -> None:
        self.name = name
        self.argv = tuple(argv)
        self.cwd = cwd
        self.env = env
        self.start_timeout_ms = start_timeout_ms
        self.log = _StderrLog(log_path, redactor)
        self.session: ClientSession | None = None
        self.tools: frozenset[str] = frozenset()
        self.restarts = 0
        self._ready = anyio.Event()
        self._restart = anyio.Event()
        self._gone = False

    async def start(self, stack: contextlib.AsyncExitStack) -> None:
        """Start the server under a supervisor task inside `stack` (closed once at the end of
        the run). The supervisor owns the SDK's contexts, so it can restart a server that died:
        the SDK's task groups must be entered and left by one task.

        Raises:
            InfrastructureError: it did not start, or did not answer initialize/tools/list.
        """
        tasks = await stack.enter_async_context(anyio.create_task_group())
        # Callbacks run last-in first-out: the supervisor is cancelled before the group exits.
        stack.callback(tasks.cancel_scope.cancel)
        stack.callback(self.log.close)
        await tasks.start(self._supervise)

    async def ready_session(self) -> ClientSession:
        """The live session, waiting up to start_timeout_ms for a restart in progress."""
        if self.session is not None:
            return self.session
        if self._gone:
            raise ToolUnavailable(f"MCP server {self.name!r} died and could not be restarted")
        with anyio.move_on_after(self.start_timeout_ms / 1000):
            await self._ready.wait()
        if self.session is None:
            raise ToolUnavailable(f"MCP server {self.name!r} is restarting; not ready yet")
        return self.session

    def lost(self, session: ClientSession) -> None:
        """A call found `session` gone: have the supervisor start the server again."""
        if self.session is session:
            self.session = None
            self._ready = anyio.Event()
            self._restart.set()

    async def _supervise(self, *, task_status: TaskStatus[None] = TASK_STATUS_IGNORED) -> None:
        restarts = 0
        while True:
            self._restart = anyio.Event()
            try:
                async with contextlib.AsyncExitStack() as contexts:
                    await self._open(contexts)
                    self._ready.set()
                    if restarts == 0:
                        task_status.started()
                    await self._restart.wait()
            except InfrastructureError:
                if restarts == 0:
                    raise
            except Exception:  # the SDK's teardown of a dead server may raise; restart anyway
                if restarts == 0:
                    raise
            self.session = None
            restarts += 1
            self.restarts = restarts
            if restarts > MAX_RESTARTS:
                self._gone = True
                self._ready.set()
                return

    async def _open(self, contexts: contextlib.AsyncExitStack) -> None:
        # lazy: mcp is the optional `mcp` extra
        from mcp import ClientSession, StdioServerParameters, stdio_client

        params = StdioServerParameters(
            command=self.argv[0],
            args=list(self.argv[1:]),
            # The SDK passes only a few variables by default; a server often needs its token.
            env={**os.environ, **self.env},
            cwd=self.cwd,
        )
        seconds = self.start_timeout_ms / 1000
        try:
            # Entered outside the timeout's scope: the SDK's task groups live on after it.
            streams = await contexts.enter_async_context(stdio_client(params, self.log.open()))
            self.log.child_started()
            session = await contexts.enter_async_context(ClientSession(*streams))
            with anyio.fail_after(seconds):
                await session.initialize()
                self.tools = frozenset(await _list_tool_names(session))
        except TimeoutError:
            raise self._failed(f"no answer within {seconds:g} s (start_timeout_ms)") from None
        # Not started, whatever the reason: spawn failed, it exited, or the SDK's own errors.
        except Exception as exc:
            raise self._failed(describe_exception(exc)) from None
        self.session = session

    def _failed(self, why: str) -> InfrastructureError:
        where = f"; its stderr is in {self.log.path}" if self.log.path else ""
        # Redacted: a server's command line may carry a token, and this goes into run.json.
        message = f"MCP server {self.name!r} ({' '.join(self.argv)}) did not start: {why}{where}"
        return InfrastructureError(self.log.redactor.text(message))


async def _list_tool_names(session: ClientSession) -> list[str]:
    # lazy: mcp is the optional `mcp` extra
    from mcp.types import PaginatedRequestParams

    names: list[str] = []
    cursor: str | None = None
    for _ in range(100):  # a server that pages forever must not hang the run
        params = PaginatedRequestParams(cursor=cursor) if cursor else None
        listed = await session.list_tools(params=params)
        names.extend(tool.name for tool in listed.tools)
        cursor = listed.next_cursor
        if not cursor:
            break
    return names


class McpBackend:
    """A suite tool answered by `remote` on a running server."""

    kind = "mcp"

    def __init__(self, server: McpServer, remote: str) -> None:
        self.server = server
        self.remote = remote

    async def call(self, tool: str, args: dict[str, Any]) -> Any:
        # lazy: mcp is the optional `mcp` extra
        from mcp import MCPError

        session = await self.server.ready_session()
        try:
            result = await session.call_tool(self.remote, args)
        except MCPError as exc:
            if not _is_connection_lost(exc):
                raise ToolFailure(f"MCP error: {exc}") from None
            self.server.lost(session)
            raise ToolUnavailable(f"MCP server {self.server.name!r} went away") from None
        except _LOST:
            # Restarted for the next call; this attempt is retried as infrastructure.
            self.server.lost(session)
            raise ToolUnavailable(f"MCP server {self.server.name!r} went away") from None
        return _result(result)


def _result(result: Any) -> Any:
    content = list(getattr(result, "content", None) or [])
    texts = [block.text for block in content if getattr(block, "type", None) == "text"]
    if getattr(result, "is_error", False):
        raise ToolFailure("\n".join(texts) or "the MCP tool reported an error")
    structured = getattr(result, "structured_content", None)
    if structured is not None:
        return structured
    if content and len(texts) == len(content):
        return texts[0] if len(texts) == 1 else texts
    return [block.model_dump(mode="json", exclude_none=True) for block in content]


class _StderrLog:
    """A pipe for the server's stderr, copied line by line through redaction to a log file by
    a thread (the SDK needs a real file descriptor, so the copy cannot be a task)."""

    def __init__(self, path: Path | None, redactor: Redacts) -> None:
        self.path = path
        self.redactor = redactor
        self._write_end: TextIO | None = None
        self._thread: threading.Thread | None = None

    def open(self) -> TextIO:
        read_fd, write_fd = os.pipe()
        self._write_end = open(write_fd, "w")  # noqa: SIM115 - closed by child_started
        self._thread = threading.Thread(target=self._copy, args=(read_fd,), daemon=True)
        self._thread.start()
        return self._write_end

    def child_started(self) -> None:
        # The server holds its own copy; ours must close so the copy ends when it exits.
        if self._write_end is not None:
            with contextlib.suppress(OSError):
                self._write_end.close()

    def close(self) -> None:
        self.child_started()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def _copy(self, read_fd: int) -> None:
        sink: IO[bytes] | None = None
        with os.fdopen(read_fd, "rb") as source:
            for line in source:
                if self.path is None:
                    continue
                if sink is None:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    sink = self.path.open("ab")
                sink.write(self.redactor.line(line))
                sink.flush()
        if sink is not None:
            sink.close()
