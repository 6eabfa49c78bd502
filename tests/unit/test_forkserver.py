"""harness.agent.forkserver: which commands a fork server can run, and the server itself (the
real bootstrap in a real interpreter) answering fork requests, reporting exits and exiting when
harness hangs up."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import anyio
import pytest

from harness.agent import forkserver
from harness.agent.fork_target import ForkTarget, fork_target
from harness.agent.forkserver import (
    ForkServer,
    PreloadError,
    open_forked,
)
from harness.errors import ForkServerLostError

PY = sys.executable


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([PY, "agent.py", "--x"], ForkTarget((PY,), "agent.py", None, ("--x",))),
        (["python3", "-u", "-X", "dev", "a.py"],
         ForkTarget(("python3", "-u", "-X", "dev"), "a.py", None, ())),
        (["python3.11", "-OO", "-Wignore", "a.py"],
         ForkTarget(("python3.11", "-OO", "-Wignore"), "a.py", None, ())),
        (["python", "-m", "pkg.agent", "1"], ForkTarget(("python",), None, "pkg.agent", ("1",))),
        (["/usr/bin/pypy3", "-I", "a.py"], ForkTarget(("/usr/bin/pypy3", "-I"), "a.py", None, ())),
        (["python3", "-P", "a.py"], ForkTarget(("python3", "-P"), "a.py", None, ())),
    ],
)  # fmt: skip
def test_python_scripts_and_modules_can_be_forked(argv: list[str], expected: ForkTarget) -> None:
    assert fork_target(argv) == expected


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["node", "agent.js"], "'node' is not a Python interpreter"),
        (["sh", "-c", "python a.py"], "'sh' is not a Python interpreter"),
        (["python3", "-c", "print(1)"], "the interpreter option '-c' is not a script"),
        (["python3", "-i", "a.py"], "the interpreter option '-i' is not a script"),
        (["python3", "-"], "the interpreter option '-' is not a script"),
        (["python3", "-u"], "the command names no script or -m module"),
        (["python3", "-m"], "the interpreter option '-m' is not a script"),
    ],
)
def test_other_commands_are_spawned_and_say_why(argv: list[str], reason: str) -> None:
    said = fork_target(argv)
    assert isinstance(said, str) and said.startswith(reason)


AGENT = """\
import os, sys
sys.stdout.write(f"{os.getpid()} {os.getcwd()} {os.environ.get('ONLY_HERE')} {sys.argv[1:]}\\n")
sys.stdout.flush()
sys.exit(int(sys.argv[1]))
"""


async def test_a_server_forks_reports_exits_and_leaves_when_harness_hangs_up(
    tmp_path: Path,
) -> None:
    (tmp_path / "agent.py").write_text(AGENT)
    target = fork_target([PY, str(tmp_path / "agent.py"), "5"])
    assert isinstance(target, ForkTarget)
    async with anyio.create_task_group() as tasks:
        server = await ForkServer.start(
            target, cwd=tmp_path, env=None, preload=["json"], tasks=tasks
        )
        assert server.hello["threads"] == 1 and server.hello["fork"] is True
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        async with open_forked(
            server, cwd=elsewhere, env={**os.environ, "ONLY_HERE": "yes"}, grace_seconds=1
        ) as process:
            assert process.stdout is not None
            line = (await process.stdout.receive()).decode()
            assert await process.wait() == 5
        assert line == f"{process.pid} {elsewhere} yes ['5']\n"
        assert process.returncode == 5 and not process.lost
        # A cwd that does not exist fails as a spawn would, and the server goes on serving.
        with pytest.raises(Exception, match="No such file or directory"):
            async with open_forked(server, cwd=tmp_path / "missing", env=None, grace_seconds=1):
                pass
        async with open_forked(server, cwd=None, env=None, grace_seconds=1) as again:
            assert await again.wait() == 5
        await server.close()
        assert server.process.returncode == 0  # it left on its own when the socket closed
        tasks.cancel_scope.cancel()


async def test_a_preload_that_fails_is_named(tmp_path: Path) -> None:
    target = fork_target([PY, "agent.py"])
    assert isinstance(target, ForkTarget)
    async with anyio.create_task_group() as tasks:
        with pytest.raises(PreloadError) as raised:
            await ForkServer.start(
                target, cwd=tmp_path, env=None, preload=["json", "no_such_module"], tasks=tasks
            )
        tasks.cancel_scope.cancel()
    assert raised.value.module == "no_such_module"
    assert "No module named 'no_such_module'" in raised.value.message


async def test_a_stuck_server_is_ended_and_the_attempt_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "agent.py").write_text(AGENT)
    target = fork_target([PY, str(tmp_path / "agent.py"), "0"])
    assert isinstance(target, ForkTarget)
    monkeypatch.setattr(forkserver, "REPLY_TIMEOUT_SECONDS", 0.5)
    async with anyio.create_task_group() as tasks:
        server = await ForkServer.start(target, cwd=tmp_path, env=None, preload=[], tasks=tasks)
        os.kill(server.process.pid, signal.SIGSTOP)  # stuck: it reads no request
        with pytest.raises(ForkServerLostError, match="did not start the agent in"):
            async with open_forked(server, cwd=None, env=None, grace_seconds=1):
                pass
        assert await server.process.wait() == -signal.SIGKILL
        with pytest.raises(ForkServerLostError, match="the fork server exited"):
            async with open_forked(server, cwd=None, env=None, grace_seconds=1):
                pass
        assert server.dead
        await server.close()
        tasks.cancel_scope.cancel()
