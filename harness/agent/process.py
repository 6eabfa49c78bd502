"""Owns agent processes: spawn in a new session, and terminate -> grace -> kill the whole group.

This is the one module that starts processes. Cleanup runs inside a shielded cancel scope so
that a deadline or Ctrl+C never leaves a process group behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import anyio
from anyio.abc import Process

from harness.agent.spawn import agent_popen_options, spawn, threaded_spawn_supported
from harness.errors import SpawnError

# Version managers whose shims re-exec the real interpreter through a shell script.
SHIM_MARKERS = (b"pyenv", b"asdf", b"rbenv", b"nodenv", b"mise")

# Process groups of agents alive right now, so a second Ctrl+C can kill them all at once.
live_groups: set[int] = set()


@runtime_checkable
class ExitNotice(Protocol):
    """A process that calls back on the loop when it exits: the ones harness starts itself
    (spawned or forked). Waiting for anyio's own processes takes a task."""

    def on_exit(self, callback: Callable[[], None]) -> None: ...


def resolve_executable(argv0: str, *, cwd: Path | None = None) -> str:
    """Resolve the agent's argv[0] once per run, so each spawn skips the PATH search, and check
    that it can start: a program that cannot is the suite's mistake, found before any agent
    starts (exit 2), not a lost trial per attempt.

    Raises:
        SpawnError: not found, a folder, not executable, or its `#!` interpreter is missing.
    """
    if os.sep in argv0:
        path = Path(argv0) if cwd is None or os.path.isabs(argv0) else cwd / argv0
        _check_startable(path, argv0)
        return str(path)
    found = shutil.which(argv0)
    if found is None and argv0 == "python":
        # RunLedger rewrites a missing `python` to `python3`; suites written for it rely on that.
        found = shutil.which("python3")
    if found is None:
        raise SpawnError(
            f"agent command {argv0!r} not found on PATH; install it or use an absolute path",
        )
    return found


def _check_startable(path: Path, shown: str) -> None:
    if not path.exists():
        raise SpawnError(f"agent command {shown!r} not found ({path})")
    if path.is_dir():
        raise SpawnError(f"agent command {shown!r} is a folder, not a program")
    if not os.access(path, os.X_OK):
        raise SpawnError(
            f"agent command {shown!r} is not executable; `chmod +x {shown}`, or put its "
            "interpreter first (`[python3, agent.py]`)"
        )
    try:
        with open(path, "rb") as handle:
            first = handle.readline(256)
    except OSError:
        return  # exec will say why
    words = first[2:].split() if first.startswith(b"#!") else []
    interpreter = words[0].decode(errors="replace") if words else ""
    if interpreter and not os.access(interpreter, os.X_OK):
        raise SpawnError(
            f"agent command {shown!r}: its #! interpreter {interpreter} is not there; fix "
            "the first line, or put an interpreter first in agent_command"
        )


def is_shell_shim(executable: str) -> bool:
    """True for a script wrapper such as a pyenv shim, which adds ~120 ms to every spawn."""
    try:
        with open(executable, "rb") as handle:
            head = handle.read(256)
    except OSError:
        return False
    first_line = head.split(b"\n")[0]
    is_shell = head.startswith(b"#!") and b"sh" in first_line
    return is_shell and any(marker in head for marker in SHIM_MARKERS)


_pidfd_support: bool | None = None


def _use_pidfd_child_watcher() -> None:
    """On Python 3.11 asyncio reaps each child with a new thread, and starting that thread
    costs ~5 ms (a GIL switch interval) per spawn. A pidfd watcher reaps through the event
    loop instead; it is bound to one loop, so it is (re)attached to the running one. Python
    3.12+ does this by itself."""
    global _pidfd_support
    if _pidfd_support is False:
        return
    # only the asyncio backend needs these, once per run
    import asyncio
    import warnings

    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # another backend (trio) reaps children itself
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if _pidfd_support is None:
            _pidfd_support = _kernel_has_pidfd()
            if not _pidfd_support:
                return
            asyncio.set_child_watcher(asyncio.PidfdChildWatcher())
        watcher = asyncio.get_child_watcher()
        if isinstance(watcher, asyncio.PidfdChildWatcher) and not watcher.is_active():
            watcher.attach_loop(loop)


def _kernel_has_pidfd() -> bool:
    if sys.version_info >= (3, 12) or not hasattr(os, "pidfd_open"):
        return False
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:  # kernel before 5.3
        return False
    return True


@contextlib.asynccontextmanager
async def open_agent(
    argv: Sequence[str],
    *,
    cwd: Path | None,
    env: Mapping[str, str] | None,
    grace_seconds: float,
) -> AsyncIterator[Process]:
    """Start `argv` in its own session; on exit terminate its whole process group."""
    process: Process
    try:
        if threaded_spawn_supported() and os.environ.get("HARNESS_SPAWN") != "loop":
            process = await spawn(argv, cwd=cwd, env=env)
        else:
            _use_pidfd_child_watcher()
            process = await anyio.open_process(list(argv), **agent_popen_options(cwd, env))
    except OSError as exc:
        raise SpawnError(
            f"could not start agent {argv[0]!r}: {exc.strerror or exc}", errno=exc.errno
        ) from exc
    live_groups.add(process.pid)
    try:
        yield process
    finally:
        with anyio.CancelScope(shield=True):
            await terminate_group(process, grace_seconds=grace_seconds)
            live_groups.discard(process.pid)
            # Process.aclose closes the pipe transports too. Closing only the streams leaves a
            # read pipe that was paused (the agent flooded stdout faster than it was read) open
            # for good: one leaked fd per such attempt, and a warning at interpreter exit.
            with contextlib.suppress(OSError, anyio.BrokenResourceError):
                await process.aclose()


async def terminate_group(process: Process, *, grace_seconds: float) -> None:
    """SIGTERM the group, wait up to the grace period, then SIGKILL whatever is left.

    The group is killed even when the leader has exited: grandchildren that kept the pipes
    open would otherwise outlive the attempt.
    """
    pgid = process.pid  # start_new_session makes the child its own group leader
    with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        if process.stdin is not None:
            await process.stdin.aclose()
    # Descendants that left the group (setsid: a daemon) are found while the agent still
    # lives; once it has exited they belong to init and cannot be told apart (docs/security.md).
    strays = _strays(pgid) if process.returncode is None else []
    if process.returncode is None:
        _signal_group(pgid, signal.SIGTERM)
        with anyio.move_on_after(grace_seconds):
            await process.wait()
    _signal_group(pgid, signal.SIGKILL)
    for pid in strays:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    if process.returncode is None:
        await process.wait()


async def wait_for_exit(process: Process, timeout_seconds: float) -> int | None:
    """Give an agent that has answered a moment to exit on its own after stdin closes."""
    with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        if process.stdin is not None:
            await process.stdin.aclose()
    if process.returncode is not None:
        return process.returncode
    with anyio.move_on_after(timeout_seconds):
        return await process.wait()
    return None


def kill_all_groups() -> None:
    """SIGKILL every live agent group now (the second Ctrl+C)."""
    for pgid in list(live_groups):
        _signal_group(pgid, signal.SIGKILL)


def _strays(pgid: int) -> list[int]:
    """Descendants of `pgid`'s leader outside its process group (Linux /proc; else none)."""
    found: list[int] = []
    pending = [pgid]
    while pending and len(found) < 10_000:
        pid = pending.pop()
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{pid}/task/{task}/children") as handle:
                    children = [int(child) for child in handle.read().split()]
            except (OSError, ValueError):
                continue
            pending.extend(children)
            found.extend(children)
    strays = []
    for pid in found:
        with contextlib.suppress(OSError):
            if os.getpgid(pid) != pgid:
                strays.append(pid)
    return strays


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)
