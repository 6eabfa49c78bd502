"""A `harness run` seen from outside: start `python -m harness` as a real subprocess, read what it
wrote, and find the processes it left. Nothing of the runner is imported or faked here.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from tests.support.files import read_json, read_jsonl

REPO = Path(__file__).resolve().parents[2]
SUITES = REPO / "suites"
SCRIPT_AGENT = REPO / "tests" / "agents" / "script_agent.py"
SHELL_AGENT = REPO / "tests" / "agents" / "shell_agent.sh"
HOSTILE = REPO / "tests" / "faults" / "agents" / "hostile.py"
RUN_DIR_PREFIX = "Run directory: "
# Every agent and grandchild a test starts can be found by this env var (agents) or argument
# (script_agent's grandchildren), so leftovers are ours and not another session's processes.
MARKER_ENV = "SCRIPT_AGENT_MARKER"


@dataclass
class Run:
    """One finished `harness run`: its exit code, console output and run directory."""

    exit_code: int
    stdout: str
    stderr: str
    cwd: Path
    run_dir: Path | None = field(default=None)

    def describe(self) -> str:
        return f"exit {self.exit_code}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"

    @property
    def dir(self) -> Path:
        assert self.run_dir is not None, f"no run directory named\n{self.describe()}"
        return self.run_dir

    def results(self) -> list[dict[str, Any]]:
        return read_jsonl(self.dir / "results.jsonl")

    def results_by_case(self) -> dict[str, dict[str, Any]]:
        return {result["case_id"]: result for result in self.results()}

    def summary(self) -> dict[str, Any]:
        return read_json(self.dir / "summary.json")

    def run_json(self) -> dict[str, Any]:
        return read_json(self.dir / "run.json")

    def events(self) -> list[dict[str, Any]]:
        return read_jsonl(self.dir / "run.jsonl")

    def events_of(self, case_id: str, event_type: str | None = None) -> list[dict[str, Any]]:
        return [
            event
            for event in self.events()
            if event.get("case_id") == case_id and event_type in (None, event.get("type"))
        ]

    def junit(self) -> ET.Element:
        return ET.parse(self.dir / "junit.xml").getroot()

    def stderr_log(self, case_id: str) -> Path:
        return self.dir / "attempts" / case_id / "stderr.log"


class Harness:
    """Runs `python -m harness` in a temporary cwd with the venv first on PATH."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.out = cwd / "out"
        self.marker = f"harness-e2e-{uuid.uuid4().hex}"
        self.bin_dir = os.path.dirname(sys.executable)
        self.env = {
            **os.environ,
            # `python3` in agent_command must be the venv interpreter, not a slow shim.
            "PATH": self.bin_dir + os.pathsep + os.environ.get("PATH", ""),
            MARKER_ENV: self.marker,
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        self.env.pop("GITHUB_ACTIONS", None)

    def argv(
        self, suite: Path | str, *args: str, output_dir: bool = True, script: bool = False
    ) -> list[str]:
        # `script`: the `harness` console script instead of `python -m harness`.
        launcher = [self.bin_dir + "/harness"] if script else [sys.executable, "-m", "harness"]
        argv = [*launcher, "run", str(suite), *args]
        if output_dir:
            argv += ["--output-dir", str(self.out)]
        return argv

    def run(
        self,
        suite: Path | str,
        *args: str,
        output_dir: bool = True,
        script: bool = False,
        timeout_seconds: float = 60,
    ) -> Run:
        completed = subprocess.run(
            self.argv(suite, *args, output_dir=output_dir, script=script),
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout_seconds,
            check=False,
        )
        run = Run(completed.returncode, completed.stdout, completed.stderr, self.cwd)
        run.run_dir = named_run_dir(run)
        return run

    def popen(self, suite: Path | str, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(suite, *args),
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run_dirs(self) -> list[Path]:
        """Every run directory under the output dir (`<out>/<suite>/<run_id>`)."""
        if not self.out.exists():
            return []
        return sorted(path for path in self.out.glob("*/*") if path.is_dir())


@contextlib.contextmanager
def started(cwd: Path) -> Iterator[Harness]:
    """A Harness in `cwd`; whatever agents a failed test left behind are killed at the end."""
    runner = Harness(cwd)
    try:
        yield runner
    finally:
        surviving_processes(runner.marker, settle_seconds=0)


def command(harness: Harness, *args: str, timeout_seconds: float = 60) -> Run:
    """`python -m harness ARGS...` in the test's cwd; the run dir is found for run/ci."""
    completed = subprocess.run(
        [sys.executable, "-m", "harness", *args],
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


def named_run_dir(run: Run) -> Path | None:
    """The directory the last console line names, resolved against the run's cwd."""
    lines = [line for line in run.stdout.splitlines() if line.strip()]
    if not lines or not lines[-1].startswith(RUN_DIR_PREFIX):
        return None
    path = Path(lines[-1][len(RUN_DIR_PREFIX) :].strip())
    return path if path.is_absolute() else run.cwd / path


def script_agent_command(*extra: str) -> list[str]:
    return ["python3", str(SCRIPT_AGENT), *extra]


def marked_processes(marker: str, exclude: Collection[int] = ()) -> list[psutil.Process]:
    """Live processes that carry `marker` in their command line or in MARKER_ENV.

    `harness run` itself has MARKER_ENV too (its agents inherit it): exclude it while it runs.
    """
    found = []
    skip = {os.getpid(), *exclude}
    for process in psutil.process_iter(["pid", "cmdline", "status"]):
        try:
            if process.info["status"] == psutil.STATUS_ZOMBIE or process.pid in skip:
                continue
            if (
                any(marker in part for part in process.info["cmdline"] or [])
                or process.environ().get(MARKER_ENV) == marker
            ):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def surviving_processes(marker: str, settle_seconds: float = 3.0) -> list[str]:
    """Marked processes still alive after `settle_seconds`; they are killed before returning."""
    _, alive = psutil.wait_procs(marked_processes(marker), timeout=settle_seconds)
    survivors = []
    for process in alive:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:  # dead, only not reaped yet
                continue
            survivors.append(f"{process.pid} {' '.join(process.cmdline())}")
            process.kill()
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return survivors
