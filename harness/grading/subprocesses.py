"""Short-lived commands for graders, judges and workspace setup: run one to completion under a
deadline, capture its output, and on timeout end its whole process group (nothing left behind).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import anyio
import msgspec
from anyio.abc import ByteReceiveStream, Process

from harness.agent.process import terminate_group

# Output beyond this is dropped (and said so): a grader's command may print without bound.
MAX_CAPTURE_BYTES = 8 * 1024 * 1024
KILL_GRACE_SECONDS = 2.0
# How long output still in the pipes may take to be read once the command has ended.
DRAIN_SECONDS = 1.0


# A msgspec Struct, not a dataclass: ~50x cheaper to define (start-up), and to make.
class Completed(msgspec.Struct, frozen=True):
    """How a command ended. `exit_code` is None when it was killed at the deadline."""

    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool
    seconds: float


async def run_captured(
    command: str | Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout_seconds: float,
    stdin: bytes | None = None,
) -> Completed:
    """Run `command` (a string runs through /bin/sh, a list without a shell) to completion.

    Raises:
        OSError: the command could not be started (no such program, cwd gone).
    """
    started = anyio.current_time()
    process = await anyio.open_process(
        command if isinstance(command, str) else list(command),
        cwd=cwd,
        env={**os.environ, **env} if env is not None else None,
        start_new_session=True,
    )
    out, err = bytearray(), bytearray()
    try:
        async with anyio.create_task_group() as tasks:
            assert process.stdout is not None and process.stderr is not None
            drained = [anyio.Event(), anyio.Event()]
            tasks.start_soon(_drain, process.stdout, out, drained[0])
            tasks.start_soon(_drain, process.stderr, err, drained[1])
            await _feed(process, stdin)
            with anyio.move_on_after(timeout_seconds) as deadline:
                await process.wait()
            timed_out = deadline.cancelled_caught
            # Also ends what it left running in the background, which would hold the pipes.
            await terminate_group(process, grace_seconds=KILL_GRACE_SECONDS)
            with anyio.move_on_after(DRAIN_SECONDS):
                for event in drained:
                    await event.wait()
            tasks.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            await terminate_group(process, grace_seconds=KILL_GRACE_SECONDS)
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError, anyio.BrokenResourceError):
                        await stream.aclose()
    return Completed(
        exit_code=None if timed_out else process.returncode,
        stdout=_text(out),
        stderr=_text(err),
        timed_out=timed_out,
        seconds=anyio.current_time() - started,
    )


async def _feed(process: Process, data: bytes | None) -> None:
    stream = process.stdin
    if stream is None:
        return
    try:
        if data:
            await stream.send(data)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        pass  # the command did not read its input: its exit status says the rest
    finally:
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            await stream.aclose()


async def _drain(stream: ByteReceiveStream, sink: bytearray, done: anyio.Event) -> None:
    try:
        async for chunk in stream:
            if len(sink) < MAX_CAPTURE_BYTES:
                sink.extend(chunk[: MAX_CAPTURE_BYTES - len(sink)])
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        pass
    finally:
        done.set()


def _text(data: bytearray) -> str:
    text = data.decode("utf-8", errors="replace")
    if len(data) >= MAX_CAPTURE_BYTES:
        text += f"\n[output cut at {MAX_CAPTURE_BYTES} bytes]"
    return text
