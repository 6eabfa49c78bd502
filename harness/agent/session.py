"""Typed messages over the agent's pipes, and its stderr kept whole in a log and as a tail."""

from __future__ import annotations

import collections
import contextlib
import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Protocol

import anyio
from anyio.abc import ByteReceiveStream, ByteSendStream
from anyio.streams.buffered import BufferedByteReceiveStream

from harness.errors import AgentProtocolError, InfrastructureError, disk_error
from harness.protocol.codec import decode_agent_line, encode_message, excerpt
from harness.protocol.messages import AgentMessage, RunnerMessage

STDERR_TAIL_LINES = 20
STDERR_TAIL_BYTES = 4096
_REDACT_PENDING_BYTES = 64 * 1024


class AgentClosedStdout(Exception):
    """The agent's stdout reached end of file."""


class AgentChannel:
    """Reads agent messages line by line (bounded), writes runner messages."""

    def __init__(self, stdin: ByteSendStream, stdout: ByteReceiveStream, max_line_bytes: int):
        self._stdin = stdin
        self._stdout = BufferedByteReceiveStream(stdout)
        self._max_line_bytes = max_line_bytes
        self._eof = False
        self.lines_read = 0
        self.last_line_bytes = 0
        self.stdin_broken = False

    async def send(self, message: RunnerMessage) -> None:
        """Write one message. A closed stdin is remembered, not raised: the read that follows
        reports what the agent did (exited, or kept talking)."""
        if self.stdin_broken:
            return
        try:
            await self._stdin.send(encode_message(message))
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            self.stdin_broken = True

    async def receive(self) -> AgentMessage:
        """The next message; blank lines are skipped. Raises AgentClosedStdout at EOF."""
        while True:
            line = await self._read_line()
            self.lines_read += 1
            self.last_line_bytes = len(line)
            if line.strip():
                return decode_agent_line(line, self.lines_read)

    async def _read_line(self) -> bytes:
        if self._eof:
            raise AgentClosedStdout
        try:
            return await self._stdout.receive_until(b"\n", self._max_line_bytes)
        except anyio.DelimiterNotFound:
            raise AgentProtocolError(
                f"agent stdout line {self.lines_read + 1}: line longer than "
                f"{self._max_line_bytes} bytes (max_line_bytes); "
                f"starts with: {excerpt(self._stdout.buffer)}",
                line=self.lines_read + 1,
            ) from None
        except (anyio.IncompleteRead, anyio.EndOfStream, anyio.ClosedResourceError):
            self._eof = True
            rest = bytes(self._stdout.buffer)
            if rest.strip():
                # A last message without its newline still counts.
                return rest
            raise AgentClosedStdout from None


class StreamRedactor(Protocol):
    """What the stderr sink needs of redaction (harness.cassette.redact.Redactor)."""

    def lines(self, data: bytes) -> bytes:
        """Whole lines (or a piece of a line too long to wait for), secrets replaced."""
        ...

    def split_point(self, data: bytes) -> int:
        """Where a line too long to wait for may be cut: no secret spans the offset returned."""
        ...

    def held(self, data: bytes) -> int:
        """Bytes at the end of `data` that may begin a secret spanning a line break: they wait
        for what follows."""
        ...


class StderrSink:
    """Copies the agent's stderr to a log file as it arrives and keeps a bounded tail."""

    def __init__(
        self,
        log_path: Path | None,
        echo: Callable[[bytes], None] | None = None,
        redact: StreamRedactor | None = None,
    ) -> None:
        self.log_path = log_path
        self.echo = echo  # also shown live (`--verbose`)
        # Secrets are redacted line by line before anything is kept: a secret split across two
        # reads is still one line. A partial line waits for its end, or for 64 KiB: then the
        # part before `split_point` is redacted and kept, and the rest waits, so a secret that
        # straddles two 64 KiB pieces is still seen whole.
        self.redact = redact
        self._partial = b""
        self._file: BinaryIO | None = None
        self._tail: collections.deque[bytes] = collections.deque()
        self._tail_bytes = 0
        self.total_bytes = 0
        self.done = anyio.Event()
        # Set when the log could not be written: the run cannot go on (harness.errors).
        self.write_error: InfrastructureError | None = None
        # Called then: it stops the attempt (harness.attempt.run).
        self.on_failure: Callable[[], None] | None = None

    async def pump(self, stream: ByteReceiveStream) -> None:
        try:
            async for chunk in stream:
                self._write(chunk)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            pass
        finally:
            self.close()
            self.done.set()

    def feed(self, chunk: bytes) -> None:
        """A chunk read by someone else: a kept agent's stderr pump (harness.agent.persistent),
        or the loop (PipeReceiveStream.deliver)."""
        self._write(chunk)

    def end(self) -> None:
        """The stderr read by someone else has ended."""
        self.close()
        self.done.set()

    def _write(self, chunk: bytes) -> None:
        self.total_bytes += len(chunk)
        if self.redact is not None:
            chunk = self._redact_lines(chunk)
            if not chunk:
                return
        self._keep(chunk)

    def _redact_lines(self, chunk: bytes, *, final: bool = False) -> bytes:
        assert self.redact is not None
        pending = self._partial + chunk
        cut = len(pending) if final else pending.rfind(b"\n") + 1
        if cut == 0 and len(pending) >= _REDACT_PENDING_BYTES:
            cut = self.redact.split_point(pending)
        elif cut and not final:
            cut -= self.redact.held(pending[:cut])
        ready, self._partial = pending[:cut], pending[cut:]
        return self.redact.lines(ready) if ready else b""

    def _keep(self, chunk: bytes) -> None:
        if self.echo is not None:
            self.echo(chunk)
        if self.log_path is not None and self.write_error is None:
            try:
                self._write_log(self.log_path, chunk)
            except OSError as exc:
                # A full disk or a file-size limit: stop writing, keep draining (an agent
                # blocked on its stderr would end as max_idle_ms, blamed for harness's disk),
                # and say so: the attempt stops now and the run ends with exit 3.
                self.write_error = disk_error(self.log_path, exc)
                self._close_log()
                if self.on_failure is not None:
                    self.on_failure()
        self._tail.append(chunk)
        self._tail_bytes += len(chunk)
        while self._tail_bytes > STDERR_TAIL_BYTES * 2 and len(self._tail) > 1:
            self._tail_bytes -= len(self._tail.popleft())

    def _write_log(self, path: Path, chunk: bytes) -> None:
        if self._file is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Unbuffered: a write that does not fit fails here, not unseen at close.
            self._file = path.open("ab", buffering=0)
        view = memoryview(chunk)
        while view:
            written = self._file.write(view)
            if not written:  # a full disk can take part of a write without an error
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            view = view[written:]

    def close(self) -> None:
        if self.redact is not None and self._partial:
            self._keep(self._redact_lines(b"", final=True))
        self._close_log()

    def _close_log(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None

    def tail(self) -> str:
        data = b"".join(self._tail)[-STDERR_TAIL_BYTES:]
        lines = data.decode("utf-8", errors="replace").splitlines()[-STDERR_TAIL_LINES:]
        return "\n".join(lines)
