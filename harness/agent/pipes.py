"""An agent's three pipes on the running asyncio loop: made here, the child's ends handed to
whoever starts it (Popen in harness.agent.spawn, a fork server in harness.agent.forkserver), ours
adopted as asyncio pipe transports behind anyio's stream interfaces."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import anyio
import anyio.lowlevel
from anyio.abc import ByteReceiveStream, ByteSendStream

READ_CHUNK = 1 << 16


class Pipes:
    """stdin, stdout and stderr pipes: the child's ends and ours, close-on-exec all (Popen's
    dup2 onto 0, 1 and 2 makes the child's copies inheritable)."""

    def __init__(self) -> None:
        made: list[tuple[int, int]] = []
        try:
            made.extend(os.pipe2(os.O_CLOEXEC) for _ in range(3))
        except BaseException:
            for pair in made:
                for fd in pair:
                    os.close(fd)
            raise
        (in_read, in_write), (out_read, out_write), (err_read, err_write) = made
        self.child = [in_read, out_write, err_write]
        self.parent = [PipeFd(in_write), PipeFd(out_read), PipeFd(err_read)]

    def close_child_ends(self) -> None:
        for fd in self.child:
            os.close(fd)
        self.child = []

    def close_all(self) -> None:
        self.close_child_ends()
        for pipe in self.parent:
            pipe.close()


class PipeFd:
    """Our end of a pipe as asyncio's pipe transports take it: a fileno() and a close()."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)


class PipeReceiveStream(ByteReceiveStream):
    def __init__(self, transport: asyncio.ReadTransport, reader: asyncio.StreamReader) -> None:
        self._transport = transport
        self._reader = reader
        self._closed = False

    async def receive(self, max_bytes: int = READ_CHUNK) -> bytes:
        if self._closed:
            raise anyio.ClosedResourceError
        data = await self._reader.read(max_bytes)
        if data:
            return data
        if self._closed:
            raise anyio.ClosedResourceError
        raise anyio.EndOfStream

    async def aclose(self) -> None:
        self.close()
        await anyio.lowlevel.checkpoint()

    def close(self) -> None:
        # Closing the transport frees the fd even when reading was paused (a flooding agent).
        self._closed = True
        self._transport.close()
        self._reader.feed_eof()


class PipeSendStream(ByteSendStream):
    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._closed = False

    async def send(self, item: bytes) -> None:
        if self._closed:
            raise anyio.ClosedResourceError
        if self._writer.is_closing():
            # The transport closed itself: the child closed its stdin, or exited. A broken
            # stream, as anyio's own process streams report it, not one we closed.
            raise anyio.BrokenResourceError
        self._writer.write(item)
        try:
            await self._writer.drain()
        except ConnectionResetError as exc:
            raise anyio.BrokenResourceError from exc

    async def aclose(self) -> None:
        self.close()
        await anyio.lowlevel.checkpoint()

    def close(self) -> None:
        self._closed = True
        self._writer.close()


class _WriteProtocol(asyncio.streams.FlowControlMixin):
    """What StreamWriter.drain needs from a write pipe's protocol: pause/resume and loss."""


async def _read_pipe(loop: asyncio.AbstractEventLoop, pipe: Any) -> PipeReceiveStream:
    reader = asyncio.StreamReader(limit=READ_CHUNK, loop=loop)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader, loop=loop), pipe
    )
    return PipeReceiveStream(transport, reader)


async def adopt_pipes(
    pipes: list[PipeFd],
) -> tuple[PipeSendStream, PipeReceiveStream, PipeReceiveStream]:
    """Our ends of the child's stdin, stdout and stderr as the loop's transports; each is closed
    with its transport, or here if adopting fails half way."""
    loop = asyncio.get_running_loop()
    stdin_pipe, stdout_pipe, stderr_pipe = pipes
    try:
        write_transport, write_protocol = await loop.connect_write_pipe(_WriteProtocol, stdin_pipe)
        writer = asyncio.StreamWriter(write_transport, write_protocol, None, loop)
        stdout = await _read_pipe(loop, stdout_pipe)
        stderr = await _read_pipe(loop, stderr_pipe)
    except BaseException:
        for pipe in pipes:
            pipe.close()
        raise
    return PipeSendStream(writer), stdout, stderr
