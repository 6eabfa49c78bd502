"""`harness serve` as a user starts it: the URL it prints, a busy port skipped (and left alone),
Ctrl+C exiting 130, the options it refuses, and the line it prints without the serve extra."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from harness.serve.server import bind
from tests.support.serve_runs import ServedRuns


def start(*args: str, cwd: Path, ignoring_ctrl_c: bool = False) -> subprocess.Popen[str]:
    env = {**os.environ, "CI": "true"}  # never opens a browser
    return subprocess.Popen(
        [sys.executable, "-m", "harness", "serve", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # as a script's background job starts: SIGINT ignored, inherited through exec
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        if ignoring_ctrl_c
        else None,
    )


def test_ctrl_c_exits_130_when_started_with_sigint_ignored(
    dashboard_runs: ServedRuns, tmp_path: Path
) -> None:
    process = start(str(dashboard_runs.out), "--port", "0", cwd=tmp_path, ignoring_ctrl_c=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("harness serve: http://127.0.0.1:")
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 130, stderr  # was 0: the re-raised signal was ignored


def test_serves_on_the_next_free_port_and_exits_130_on_ctrl_c(
    dashboard_runs: ServedRuns, tmp_path: Path
) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    busy = holder.getsockname()[1]
    process = start(
        str(dashboard_runs.out), "--port", str(busy), "--db", str(dashboard_runs.db), cwd=tmp_path
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("harness serve: http://127.0.0.1:"), line
        url = line.split()[2]
        port = int(url.rsplit(":", 1)[1].strip("/"))
        assert busy < port <= busy + 20
        runs = httpx.get(f"{url}api/runs", timeout=10).json()
        assert runs["total"] == 2
        assert "Ctrl+C" in line and "open" not in line.split("(")[0]
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    holder.getsockname()  # the other listener was left alone
    holder.close()


def test_every_interface_with_a_token_serves_this_machine_by_name(
    dashboard_runs: ServedRuns, tmp_path: Path
) -> None:
    token = "a-long-enough-token"
    process = start(
        str(dashboard_runs.out), "--host", "0.0.0.0", "--port", "0", "--token", token, cwd=tmp_path
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert f"?token={token}" in line, line
        port = int(line.split()[2].split(":")[2].split("/")[0])
        bearer = {"authorization": f"Bearer {token}"}
        named = {**bearer, "host": f"{socket.gethostname()}:{port}"}
        assert (
            httpx.get(f"http://127.0.0.1:{port}/api/runs", headers=named, timeout=10).status_code
            == 200
        )
        assert httpx.get(f"http://127.0.0.1:{port}/api/runs", timeout=10).status_code == 401
        foreign = {**bearer, "host": f"evil.example:{port}"}
        assert (
            httpx.get(f"http://127.0.0.1:{port}/api/runs", headers=foreign, timeout=10).status_code
            == 421
        )
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)
    assert process.returncode == 130


def run_serve(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", "serve", *args],
        cwd=cwd, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_refuses_what_would_be_unsafe_or_wrong(dashboard_runs: ServedRuns, tmp_path: Path) -> None:
    out = str(dashboard_runs.out)
    wide = run_serve(out, "--host", "0.0.0.0", cwd=tmp_path)
    assert wide.returncode == 2 and "--token" in wide.stderr and "Traceback" not in wide.stderr
    short = run_serve(out, "--host", "0.0.0.0", "--token", "abc", cwd=tmp_path)
    assert short.returncode == 2 and "at least 8" in short.stderr
    missing = run_serve(str(tmp_path / "nowhere"), cwd=tmp_path)
    assert missing.returncode == 2 and "no such folder" in missing.stderr


def test_the_default_history_is_the_projects_from_any_folder(
    dashboard_runs: ServedRuns, tmp_path: Path
) -> None:
    # A project whose history holds the runs; their folders are gone, so only the database
    # can answer a case's history.
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / ".harness").mkdir()
    shutil.copy(dashboard_runs.db, project / ".harness" / "history.db")
    (project / "harness_out").mkdir()
    (project / "docs").mkdir()
    process = start(str(project / "harness_out"), "--port", "0", cwd=project / "docs")
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[2]
        history = httpx.get(f"{url}api/cases/refund/history", timeout=10)
        assert history.status_code == 200, history.text
        assert {entry["run_id"] for entry in history.json()["items"]} == {
            dashboard_runs.first,
            dashboard_runs.second,
        }
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)


WITHOUT_EXTRA = """\
import sys
sys.modules["uvicorn"] = None  # as if `pip install harness` had not installed the extra
from harness.cli.app import main
sys.argv = ["harness", "serve", sys.argv[1]]
main()
"""


def test_without_the_extra_it_says_what_to_install(
    dashboard_runs: ServedRuns, tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTRA, str(dashboard_runs.out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == "error: harness serve needs the serve extra: pip install 'harness[serve]'"
    )


def test_connections_send_small_answers_at_once() -> None:
    """The listening socket hands asyncio (which uvicorn serves on) connections with TCP_NODELAY
    set: asyncio sets it only on sockets that say IPPROTO_TCP, and without it a small answer,
    its headers and body written apart, waited ~40 ms for the client's delayed ACK."""
    listener = bind("127.0.0.1", 0)

    async def accepted_nodelay() -> int:
        connections: asyncio.Queue[asyncio.BaseTransport] = asyncio.Queue()

        class Accept(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                connections.put_nowait(transport)

        server = await asyncio.get_running_loop().create_server(Accept, sock=listener)
        async with server:
            _, writer = await asyncio.open_connection(*listener.getsockname())
            transport = await asyncio.wait_for(connections.get(), timeout=10)
            nodelay = transport.get_extra_info("socket").getsockopt(
                socket.IPPROTO_TCP, socket.TCP_NODELAY
            )
            writer.close()
            return int(nodelay)

    assert asyncio.run(accepted_nodelay()) == 1
