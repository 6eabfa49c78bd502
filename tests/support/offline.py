"""Run a command with no network at all: in a new user and network namespace (`unshare -rn`)
whose only interface is loopback, brought up so that harness's own model proxy on 127.0.0.1
still works. Nothing the command starts can reach another machine."""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

from tests.support.cli_runs import Harness, Run, named_run_dir

# A new network namespace starts with `lo` down; as root of the new user namespace the shell
# may bring it up (CAP_NET_ADMIN there), and then runs the command in its place.
_BRING_UP_LOOPBACK = 'ip link set lo up && exec "$@"'


def offline_argv(argv: list[str]) -> list[str]:
    return [
        "unshare",
        "--user",
        "--map-root-user",
        "--net",
        "sh",
        "-c",
        _BRING_UP_LOOPBACK,
        "sh",
        *argv,
    ]


@functools.cache
def why_not_offline() -> str | None:
    """None when commands can run offline here, else why not (for a skip's reason)."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare (util-linux) and ip (iproute2) are needed to run without network"
    probe = subprocess.run(
        offline_argv(["sh", "-c", "! ip route get 192.0.2.1 >/dev/null 2>&1"]),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if probe.returncode != 0:
        return f"unshare -rn is not permitted here: {probe.stderr.strip() or probe.returncode}"
    return None


def run_offline(harness: Harness, suite: Path, *args: str, timeout_seconds: float = 180) -> Run:
    """`harness run SUITE ARGS` as `harness.run` does it, but with no network."""
    completed = subprocess.run(
        offline_argv(harness.argv(suite, *args)),
        cwd=harness.cwd,
        env=harness.env,
        capture_output=True,
        text=True,
        timeout=timeout_seconds,
        check=False,
    )
    run = Run(completed.returncode, completed.stdout, completed.stderr, harness.cwd)
    run.run_dir = named_run_dir(run)
    return run
