"""Both ways of starting an agent: Popen in a worker thread (adopted by the loop) and, with
HARNESS_SPAWN=loop or off Linux, anyio.open_process. Each must give the same process."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import anyio
import psutil
import pytest

from harness.agent.process import open_agent
from harness.agent.spawn import AdoptedProcess, threaded_spawn_supported
from harness.errors import SpawnError

SCRIPT = 'read line; echo "got $line"; echo oops >&2; exit 3'


async def _converse(grace: float = 1.0) -> tuple[type, bytes, bytes, int | None, int]:
    async with open_agent(["sh", "-c", SCRIPT], cwd=None, env=None, grace_seconds=grace) as proc:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        await proc.stdin.send(b"hello\n")
        out = b"".join([chunk async for chunk in proc.stdout])
        err = b"".join([chunk async for chunk in proc.stderr])
        code = await proc.wait()
        pid = proc.pid
    return type(proc), out, err, code, pid


@pytest.mark.parametrize("how", ["thread", "loop"])
def test_an_agent_talks_and_exits_the_same_either_way(
    how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_SPAWN", how)
    kind, out, err, code, pid = anyio.run(_converse)
    assert (out, err, code) == (b"got hello\n", b"oops\n", 3)
    if how == "thread" and sys.platform == "linux":
        assert kind is AdoptedProcess
    else:
        assert kind is not AdoptedProcess
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_threaded_spawn_is_used_on_this_platform() -> None:
    async def check() -> bool:
        return threaded_spawn_supported()

    assert anyio.run(check) == (sys.platform == "linux" and sys.version_info >= (3, 11, 6))


@pytest.mark.parametrize("how", ["thread", "loop"])
def test_a_missing_executable_is_a_spawn_error(
    how: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HARNESS_SPAWN", how)

    async def start() -> None:
        async with open_agent([str(tmp_path / "nope")], cwd=None, env=None, grace_seconds=1):
            pass

    with pytest.raises(SpawnError, match="could not start agent"):
        anyio.run(start)


def test_a_cancelled_attempt_leaves_no_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cancelled while the agent runs (and right after the spawn): the group is killed."""
    monkeypatch.setenv("HARNESS_SPAWN", "thread")
    pids: list[int] = []

    async def start() -> None:
        with anyio.move_on_after(0.3):
            async with open_agent(
                ["sh", "-c", "sleep 30 & sleep 30"], cwd=None, env=None, grace_seconds=0.2
            ) as proc:
                pids.append(proc.pid)
                await proc.wait()

    anyio.run(start)
    [pid] = pids
    # SIGKILL was sent to the whole group; a member the scheduler has not run since (a loaded
    # machine) is still listed for a moment, so the check gives the kernel a second.
    assert _gone_soon(pid)


def _gone_soon(pgid: int, seconds: float = 1.0) -> bool:
    deadline = time.monotonic() + seconds
    while _group_members(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _group_members(pgid: int) -> list[int]:
    """Live processes of the group, grandchildren re-parented to init included."""
    members = []
    for process in psutil.process_iter(["pid", "status"]):
        try:
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                members.append(process.pid)
        except (ProcessLookupError, psutil.Error):
            continue
    return members


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts fds through /proc")
@pytest.mark.parametrize("how", ["thread", "loop"])
def test_spawns_leave_no_fd_open(how: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each pipe end is closed once its agent is done, and when the spawn itself fails."""
    monkeypatch.setenv("HARNESS_SPAWN", how)

    async def spawns() -> None:
        for _ in range(5):
            await _converse()
            with pytest.raises(SpawnError):
                async with open_agent(
                    [str(tmp_path / "nope")], cwd=None, env=None, grace_seconds=1
                ):
                    pass

    anyio.run(spawns)  # the loop's own fds come and go with it
    before = len(os.listdir("/proc/self/fd"))
    anyio.run(spawns)
    assert len(os.listdir("/proc/self/fd")) == before


@pytest.mark.parametrize("how", ["thread", "loop"])
def test_writing_to_an_agent_that_has_gone_is_a_broken_stream(
    how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The peer closing its stdin breaks the stream (callers treat that as "it stopped
    reading"); only a stream we closed ourselves is a closed one."""
    monkeypatch.setenv("HARNESS_SPAWN", how)
    raised: list[type[BaseException]] = []

    async def talk() -> None:
        async with open_agent(
            ["sh", "-c", "exec 0<&-; sleep 0.2"], cwd=None, env=None, grace_seconds=1
        ) as proc:
            assert proc.stdin is not None
            await anyio.sleep(0.1)  # the child has closed its stdin: the pipe has no reader
            for _ in range(3):  # the first write may still be accepted by the kernel
                try:
                    await proc.stdin.send(b"x" * 65536)
                except Exception as exc:
                    raised.append(type(exc))
                    break
            await proc.stdin.aclose()
            with pytest.raises(anyio.ClosedResourceError):
                await proc.stdin.send(b"late\n")

    anyio.run(talk)
    assert raised
    assert not issubclass(raised[0], anyio.ClosedResourceError), raised
    assert issubclass(raised[0], anyio.BrokenResourceError | OSError), raised
