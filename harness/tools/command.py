"""Command tools: run an argv per call, the call as JSON on stdin, the result as JSON on stdout.

stdin gets `{"tool": name, "args": {...}}`. Exit status 0 with JSON on stdout is the result
(empty stdout is `null`); any other status is a tool error carrying the end of stderr, except 75
(EX_TEMPFAIL), which means "try again" and is retried. What it writes on stderr shows on the
console as `[tool NAME]` lines once it ends. The command runs in its own process group, killed
whole on a timeout, through the module that owns processes.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import ByteReceiveStream

from harness.agent.process import open_agent
from harness.errors import SpawnError
from harness.excerpts import cut, cut_tail
from harness.tools.backend import ToolFailure, ToolUnavailable, TransientToolError
from harness.tools.stderr import show_tool_stderr

EX_TEMPFAIL = 75
MAX_OUTPUT_BYTES = 16 * 1024 * 1024
ERROR_CHARS = 2000
# A command that ignores SIGTERM after a timeout gets this long before SIGKILL.
GRACE_SECONDS = 0.5


class CommandBackend:
    kind = "command"

    def __init__(
        self, argv: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None
    ) -> None:
        self.argv = tuple(argv)
        self.cwd = cwd
        self.env = {**os.environ, **env} if env else None

    async def call(self, tool: str, args: dict[str, Any]) -> Any:
        request = json.dumps({"tool": tool, "args": args}, ensure_ascii=False).encode() + b"\n"
        try:
            async with open_agent(
                self.argv, cwd=self.cwd, env=self.env, grace_seconds=GRACE_SECONDS
            ) as process:
                assert process.stdin and process.stdout and process.stderr
                outputs: dict[str, bytes] = {}
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(_read_all, process.stdout, outputs, "stdout")
                    tasks.start_soon(_read_all, process.stderr, outputs, "stderr")
                    # A command that exits without reading: its status says why.
                    with contextlib.suppress(anyio.BrokenResourceError, OSError):
                        await process.stdin.send(request)
                    await process.stdin.aclose()
                    status = await process.wait()
        except SpawnError as exc:
            raise ToolUnavailable(exc.message) from None
        if "stdout_overflow" in outputs:
            raise ToolFailure(f"{self.argv[0]} wrote more than {MAX_OUTPUT_BYTES} bytes on stdout")
        show_tool_stderr(tool, outputs.get("stderr", b""))
        return _answer(self.argv[0], status, outputs.get("stdout", b""), outputs.get("stderr", b""))


async def _read_all(stream: ByteReceiveStream, into: dict[str, bytes], name: str) -> None:
    """Read to the end; past MAX_OUTPUT_BYTES keep draining (so the command is not blocked on a
    full pipe) but keep nothing more, and say so."""
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in stream:
            size += len(chunk)
            if size <= MAX_OUTPUT_BYTES:
                chunks.append(chunk)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
        pass
    into[name] = b"".join(chunks)
    if size > MAX_OUTPUT_BYTES:
        into[name + "_overflow"] = b"1"


def _answer(program: str, status: int, stdout: bytes, stderr: bytes) -> Any:
    err = cut_tail(stderr.decode("utf-8", "replace").strip(), ERROR_CHARS)
    if status == EX_TEMPFAIL:
        raise TransientToolError(f"{program} exited with status 75 (try again): {err}".rstrip())
    if status != 0:
        how = f"was killed by signal {-status}" if status < 0 else f"exited with status {status}"
        raise ToolFailure(f"{program} {how}" + (f": {err}" if err else ""))
    text = stdout.decode("utf-8", "replace").strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise ToolFailure(
            f"{program} printed something that is not JSON on stdout: {cut(text, 200)!r}"
        ) from None
