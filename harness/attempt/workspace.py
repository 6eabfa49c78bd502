"""The per-attempt workspace: a fresh folder seeded from the case's `workspace:` files and setup
commands, where the agent runs and where `run-command` and file graders look afterwards.

It is deleted when the attempt ends unless it is kept (`--workspace DIR`, or `--skip-grade`,
whose later `harness grade` needs it).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import msgspec

from harness.config.containment import PathOutsideProject, Project
from harness.config.paths import PathEscapeError, inside, parse_duration
from harness.config.schema import WorkspaceFile, WorkspaceSpec
from harness.errors import AttemptError
from harness.excerpts import cut_tail
from harness.grading.subprocesses import run_captured
from harness.kinds import FailureKind
from harness.storage.runs import safe_name

WORKSPACE_ENV = "HARNESS_WORKSPACE"
DEFAULT_COMMAND_TIMEOUT = "60s"


class WorkspaceError(AttemptError):
    """The workspace could not be prepared: a file to copy is gone, a setup command failed."""

    kind = FailureKind.WORKSPACE_ERROR


class Workspace(msgspec.Struct, frozen=True):  # a Struct: cheaper to define than a dataclass
    path: Path
    kept: bool


@contextlib.asynccontextmanager
async def open_workspace(
    spec: WorkspaceSpec,
    attempt_id: str,
    *,
    keep_under: Path | None,
    project: Project | None = None,
) -> AsyncIterator[Workspace]:
    """A seeded workspace for one attempt; removed on exit unless `keep_under` is given. Each
    source must still be inside `project` when it is copied."""
    if keep_under is not None:
        path = keep_under / safe_name(attempt_id)
        await anyio.to_thread.run_sync(_fresh_folder, path)
    else:
        path = Path(tempfile.mkdtemp(prefix="harness-ws-"))
    workspace = Workspace(path=path, kept=keep_under is not None)
    try:
        await anyio.to_thread.run_sync(_copy_files, spec, path, project)
        await _run_setup(spec, path)
        yield workspace
    finally:
        if not workspace.kept:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(shutil.rmtree, path, True)


def _fresh_folder(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)


def _copy_files(spec: WorkspaceSpec, root: Path, project: Project | None) -> None:
    for entry in spec.files:
        assert isinstance(entry, WorkspaceFile)  # resolve_files made every entry one
        source = Path(entry.src)
        try:
            target = inside(root, entry.dest or source.name)
            if project is not None:
                source = project.contain(source, "workspace file")
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
            else:
                shutil.copy2(source, target)
        except (OSError, PathEscapeError, PathOutsideProject) as exc:
            raise WorkspaceError(f"workspace: cannot copy {source} to {entry.dest}: {exc}") from exc


async def _run_setup(spec: WorkspaceSpec, root: Path) -> None:
    seconds = parse_duration(spec.command_timeout or DEFAULT_COMMAND_TIMEOUT)
    for command in spec.commands:
        try:
            done = await run_captured(
                command, cwd=root, env={WORKSPACE_ENV: str(root)}, timeout_seconds=seconds
            )
        except OSError as exc:
            raise WorkspaceError(f"workspace setup {command!r} could not start: {exc}") from exc
        if done.timed_out:
            raise WorkspaceError(f"workspace setup {command!r} timed out after {seconds:g}s")
        if done.exit_code != 0:
            tail = cut_tail(done.stderr.strip() or done.stdout.strip(), 500)
            raise WorkspaceError(
                f"workspace setup {command!r} exited with code {done.exit_code}: "
                f"{tail or 'no output'}"
            )
