"""An agent's three pipes on the running asyncio loop: made here, the child's ends handed to
whoever starts it (Popen in harness.agent.spawn, a fork server in harness.agent.forkserver), ours
read and written with os.read/os.write behind anyio's stream interfaces.

Not asyncio's pipe transports: adopting three of them costs an attempt about 18 loop callbacks
and three loop trips before the first byte moves, and their protocol and StreamReader layers
add work to every message. Here a read or a write is one system call when the pipe is ready,
and waits on the loop (add_reader/add_writer) only when it is not.
"""

from __future__ import annotations

import asyncio
import errno
import os
from collections.abc import Callable

import anyio
import anyio.lowlevel
from anyio.abc import ByteReceiveStream, ByteSendStream

READ_CHUNK = 1 << 16
# Unsent bytes a send may leave behind before it waits for the agent to read (asyncio's own
# high-water mark for pipes): a message the agent does not read in full is noticed by the idle
# timer of the read that follows.
WRITE_HIGH_WATER = 1 << 16
# Reads served at once (data already in the pipe) before a read yields to the loop anyway: an
# agent flooding its stdout must not starve the other attempts, or the timers that stop it.
READS_BEFORE_YIELD = 16


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
    """Our end of a pipe, closed once."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)


class PipeReceiveStream(ByteReceiveStream):
    """Our end of the child's stdout or stderr."""

    def __init__(self, loop: asyncio.AbstractEventLoop, pipe: PipeFd) -> None:
        os.set_blocking(pipe.fileno(), False)
        self._loop = loop
        self._pipe = pipe
        self._waiter: asyncio.Future[None] | None = None
        self._served = 0  # reads served without waiting since the last yield
        self._delivering: tuple[Callable[[bytes], None], Callable[[], None]] | None = None

    def deliver(self, on_data: Callable[[bytes], None], on_end: Callable[[], None]) -> None:
        """Read from the loop itself, with no task: `on_data(chunk)` as each chunk arrives (at
        most one a loop pass, as a transport reads), then `on_end()` once, at end of file or
        when the stream is closed. `receive` is not used on this stream afterwards."""
        self._delivering = (on_data, on_end)
        self._loop.add_reader(self._pipe.fileno(), self._deliver_ready)

    def _deliver_ready(self) -> None:
        assert self._delivering is not None
        try:
            data = os.read(self._pipe.fileno(), READ_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            self._delivering[0](data)
        else:
            self._end_delivery()

    def _end_delivery(self) -> None:
        if self._delivering is not None:
            _, on_end = self._delivering
            self._delivering = None
            self._loop.remove_reader(self._pipe.fileno())
            on_end()

    async def receive(self, max_bytes: int = READ_CHUNK) -> bytes:
        while True:
            fd = self._pipe.fileno()
            if fd < 0:
                raise anyio.ClosedResourceError
            try:
                data = os.read(fd, max_bytes)
            except BlockingIOError:
                await self._readable(fd)
                continue
            except OSError as exc:
                raise anyio.BrokenResourceError from exc
            if not data:
                raise anyio.EndOfStream
            self._served += 1
            if self._served >= READS_BEFORE_YIELD:
                self._served = 0
                await anyio.lowlevel.checkpoint()
            return data

    async def _readable(self, fd: int) -> None:
        self._served = 0
        waiter = self._waiter = self._loop.create_future()
        self._loop.add_reader(fd, _wake, waiter)
        try:
            await waiter
        finally:
            self._waiter = None
            if self._pipe.fileno() == fd:
                self._loop.remove_reader(fd)

    async def aclose(self) -> None:
        self.close()  # at once: no checkpoint, for the teardown of every attempt calls it

    def close(self) -> None:
        """Frees the fd at once, even while a read waits (it then raises ClosedResourceError)."""
        fd = self._pipe.fileno()
        if fd < 0:
            return
        self._end_delivery()
        if self._waiter is not None:
            self._loop.remove_reader(fd)
            _wake(self._waiter)
        self._pipe.close()


class PipeSendStream(ByteSendStream):
    """Our end of the child's stdin. A message is written at once as far as the pipe takes it;
    the rest goes out from the loop as the child reads, whatever becomes of the sender."""

    def __init__(self, loop: asyncio.AbstractEventLoop, pipe: PipeFd) -> None:
        os.set_blocking(pipe.fileno(), False)
        self._loop = loop
        self._pipe = pipe
        self._pending = bytearray()
        self._broken = False
        self._drained: asyncio.Future[None] | None = None

    async def send(self, item: bytes) -> None:
        fd = self._pipe.fileno()
        if fd < 0:
            raise anyio.ClosedResourceError
        if self._broken:
            # The child closed its stdin, or exited. A broken stream, as anyio's own process
            # streams report it, not one we closed.
            raise anyio.BrokenResourceError
        if self._pending:
            self._pending += item
        else:
            written = self._write(fd, item)
            if self._broken:
                raise anyio.BrokenResourceError
            if written < len(item):
                self._pending += item[written:]
                self._loop.add_writer(fd, self._flush)
        while len(self._pending) > WRITE_HIGH_WATER and not self._broken:
            drained = self._drained = self._loop.create_future()
            await drained
        if self._broken:
            raise anyio.BrokenResourceError
        if self._pipe.fileno() < 0:
            raise anyio.ClosedResourceError

    def _write(self, fd: int, data: bytes | bytearray) -> int:
        try:
            return os.write(fd, data)
        except BlockingIOError:
            return 0
        except OSError as exc:
            if exc.errno not in (errno.EPIPE, errno.ECONNRESET, errno.EBADF):
                raise
            self._broken = True
            self._pending.clear()
            return 0

    def _flush(self) -> None:
        fd = self._pipe.fileno()
        written = self._write(fd, self._pending)
        del self._pending[:written]
        if not self._pending:
            self._loop.remove_writer(fd)
        if self._drained is not None and (len(self._pending) <= WRITE_HIGH_WATER or self._broken):
            _wake(self._drained)
            self._drained = None

    async def aclose(self) -> None:
        self.close()  # at once: no checkpoint, for the teardown of every attempt calls it

    def close(self) -> None:
        """The child sees the end of its stdin; bytes it never took are dropped."""
        fd = self._pipe.fileno()
        if fd < 0:
            return
        if self._pending:
            self._loop.remove_writer(fd)
            self._pending.clear()
        if self._drained is not None:
            _wake(self._drained)
            self._drained = None
        self._pipe.close()


class LineDelivery:
    """Newline-ended lines from a socket or pipe, read by the loop itself with no task:
    `on_line(line)` (without its newline) for each, then `on_end()` once: at end of file, on
    a read error, on a line longer than `max_line` bytes, or at `stop()`. The fd stays open:
    its owner closes it, after `stop()`."""

    def __init__(
        self,
        fd: int,
        on_line: Callable[[bytes], None],
        on_end: Callable[[], None],
        *,
        max_line: int,
        buffered: bytes = b"",
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._fd = fd
        self._on_line = on_line
        self._on_end: Callable[[], None] | None = on_end
        self._max_line = max_line
        self._buffer = bytearray(buffered)
        self._loop.add_reader(fd, self._ready)
        if b"\n" in self._buffer:  # lines read before: delivered from the loop, as later ones
            self._loop.call_soon(self._split)

    def _ready(self) -> None:
        try:
            data = os.read(self._fd, READ_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.stop()
            return
        self._buffer += data
        self._split()

    def _split(self) -> None:
        buffer = self._buffer
        while self._on_end is not None:
            end = buffer.find(b"\n")
            if end < 0:
                if len(buffer) > self._max_line:
                    self.stop()
                return
            line = bytes(buffer[:end])
            del buffer[: end + 1]
            self._on_line(line)

    def stop(self) -> None:
        if self._on_end is not None:
            on_end, self._on_end = self._on_end, None
            self._loop.remove_reader(self._fd)
            on_end()


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def adopt_pipes(pipes: list[PipeFd]) -> tuple[PipeSendStream, PipeReceiveStream, PipeReceiveStream]:
    """Our ends of the child's stdin, stdout and stderr as streams on the running loop; each is
    closed with its stream, or here if adopting fails half way."""
    loop = asyncio.get_running_loop()
    stdin_pipe, stdout_pipe, stderr_pipe = pipes
    try:
        return (
            PipeSendStream(loop, stdin_pipe),
            PipeReceiveStream(loop, stdout_pipe),
            PipeReceiveStream(loop, stderr_pipe),
        )
    except BaseException:
        for pipe in pipes:
            pipe.close()
        raise
