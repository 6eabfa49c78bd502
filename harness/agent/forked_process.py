"""A fork server's child as an anyio Process (harness.agent.forkserver starts it): our ends of
its pipes on the loop, and its exit status as the server reports it, since harness is not its
parent."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio
from anyio.abc import ByteReceiveStream, ByteSendStream, Process

from harness.agent.pipes import PipeReceiveStream, PipeSendStream


@dataclass
class ChildExit:
    """How a child ended, as the server reports it (or `lost` with the server)."""

    event: anyio.Event
    status: int | None = None
    lost: bool = False
    on_end: list[Callable[[], None]] = field(default_factory=list)

    def end(self, status: int, *, lost: bool = False) -> None:
        self.status, self.lost = status, lost
        self.event.set()
        for callback in self.on_end:
            callback()


class ForkedProcess(Process):
    """An anyio Process for a fork server's child: our pipes on the loop, its exit status as
    the server reports it."""

    def __init__(
        self,
        pid: int,
        ended: ChildExit,
        stdin: PipeSendStream,
        stdout: PipeReceiveStream,
        stderr: PipeReceiveStream,
    ) -> None:
        self._pid = pid
        self._ended = ended
        self._stdin = stdin
        self._stdout = stdout
        self._stderr = stderr

    @property
    def lost(self) -> bool:
        """The server died before it could report how this child ended."""
        return self._ended.lost

    def on_exit(self, callback: Callable[[], None]) -> None:
        """`callback()` on the loop when the child has exited (harness.agent.process.ExitNotice)."""
        if self._ended.status is not None:
            callback()
        else:
            self._ended.on_end.append(callback)

    async def wait(self) -> int:
        if self._ended.status is None:  # (an Event already set still costs a loop pass)
            await self._ended.event.wait()
        assert self._ended.status is not None
        return self._ended.status

    async def aclose(self) -> None:
        self._stdin.close()
        self._stdout.close()
        self._stderr.close()
        if self._ended.status is None:
            with anyio.CancelScope(shield=True):
                await self.wait()

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def send_signal(self, value: int) -> None:
        if self._ended.status is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, value)

    @property
    def pid(self) -> int:
        return self._pid

    @property
    def returncode(self) -> int | None:
        return self._ended.status

    @property
    def stdin(self) -> ByteSendStream:
        return self._stdin

    @property
    def stdout(self) -> ByteReceiveStream:
        return self._stdout

    @property
    def stderr(self) -> ByteReceiveStream:
        return self._stderr
