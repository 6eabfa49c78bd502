"""Each trial's workspace, set up as Vally sets up an executor's: the git checkout first
(a worktree or a clone of a local repository), then `--work-dir`'s copy, the environment's
files, the skills (under `.skills/<name>/`), and the setup commands in order, each under the
environment's `commandTimeout`. A snapshot of the result is kept when diff graders will ask
what the agent changed. Every trial gets a fresh folder: trials never see each other's edits.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import anyio

from harness.attempt.workspace import WorkspaceError
from harness.config.paths import PathEscapeError, inside
from harness.excerpts import cut_tail
from harness.grading.subprocesses import run_captured
from harness.vally.model import DEFAULT_COMMAND_TIMEOUT_SECONDS, Environment, Git, Skill

SKILLS_FOLDER = ".skills"
WORKSPACE_ENV = "VALLY_WORKSPACE"


@dataclass(frozen=True)
class Prepared:
    path: Path
    baseline: Path | None  # the snapshot diff graders compare with
    kept: bool  # left in place when the trial ends (--workspace, --skip-grade)
    scratch: Path | None  # a temporary folder to remove (holds the snapshot, or everything)
    worktree_of: str | None = None  # the repository whose worktree this is (pruned at removal)


def skill_paths(skills: tuple[Skill, ...]) -> list[dict[str, str]]:
    """The skills as the agent is told of them: name and SKILL.md's path in the workspace."""
    return [{"name": s.name, "path": f"{SKILLS_FOLDER}/{s.name}/SKILL.md"} for s in skills]


async def prepare(
    environment: Environment,
    skills: tuple[Skill, ...],
    *,
    keep_at: Path | None,
    work_dir: Path | None,
    snapshot: bool,
) -> Prepared:
    """A workspace set up for one trial.

    Raises:
        WorkspaceError: a copy, the git checkout or a setup command failed.
    """
    scratch = Path(tempfile.mkdtemp(prefix="harness-vally-"))
    path = keep_at if keep_at is not None else scratch / "workspace"
    try:
        await anyio.to_thread.run_sync(_fresh, path)
        if environment.git is not None:
            await _checkout(environment.git, path)
        await anyio.to_thread.run_sync(_copy_all, environment, skills, path, work_dir)
        await _setup(environment, path)
        baseline = None
        if snapshot:
            # Beside a kept workspace, so `vally grade` can read the diff later too.
            baseline = path.with_name(path.name + ".setup") if keep_at else scratch / "baseline"
            await anyio.to_thread.run_sync(_snapshot, path, baseline)
    except BaseException:
        await remove(Prepared(path, None, keep_at is not None, scratch, _worktree(environment)))
        raise
    return Prepared(path, baseline, keep_at is not None, scratch, _worktree(environment))


def _worktree(environment: Environment) -> str | None:
    git = environment.git
    return git.source if git is not None and git.type == "worktree" else None


async def remove(prepared: Prepared) -> None:
    """Delete what the trial leaves: the scratch folder, and the workspace unless kept."""
    with anyio.CancelScope(shield=True):
        if prepared.scratch is not None:
            await anyio.to_thread.run_sync(shutil.rmtree, prepared.scratch, True)
        if not prepared.kept:
            await anyio.to_thread.run_sync(shutil.rmtree, prepared.path, True)
            if prepared.worktree_of is not None:
                # The repository lists the worktree until it is pruned.
                with contextlib.suppress(OSError, WorkspaceError):
                    prune = ["git", "-C", prepared.worktree_of, "worktree", "prune"]
                    await _run(prune, Path(prepared.worktree_of), "git worktree prune")


def _fresh(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)


async def _checkout(git: Git, path: Path) -> None:
    if git.type == "worktree":
        command = ["git", "-C", git.source, "worktree", "add", "--detach", str(path)]
        command += [git.ref] if git.ref else []
    else:
        command = ["git", "clone", "--quiet"] + (["--depth", "1"] if git.shallow else [])
        command += ["--branch", git.ref] if git.ref and git.shallow else []
        command += [git.source, str(path)]
    await _run(command, path.parent, f"git {git.type} of {git.source}")
    if git.type == "clone" and git.ref and not git.shallow:
        await _run(["git", "checkout", "--quiet", git.ref], path, f"git checkout {git.ref}")
    if git.sparse:
        await _run(["git", "sparse-checkout", "set", *git.sparse], path, "git sparse-checkout")


def _copy_all(
    environment: Environment, skills: tuple[Skill, ...], root: Path, work_dir: Path | None
) -> None:
    root.mkdir(parents=True, exist_ok=True)
    if work_dir is not None:
        shutil.copytree(work_dir, root, symlinks=True, dirs_exist_ok=True)
    entries = [*environment.files]
    entries += [(skill.folder, f"{SKILLS_FOLDER}/{skill.name}") for skill in skills]
    for source, dest in entries:
        try:
            target = inside(root, dest)
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
            else:
                shutil.copy2(source, target)
        except (OSError, PathEscapeError) as exc:
            raise WorkspaceError(f"workspace: cannot copy {source} to {dest}: {exc}") from exc


async def _setup(environment: Environment, root: Path) -> None:
    seconds = environment.command_timeout_seconds or DEFAULT_COMMAND_TIMEOUT_SECONDS
    for command in environment.commands:
        await _run(command, root, f"setup command {command!r}", seconds)


async def _run(
    command: str | list[str], cwd: Path, what: str, seconds: float = DEFAULT_COMMAND_TIMEOUT_SECONDS
) -> None:
    try:
        done = await run_captured(
            command, cwd=cwd, env={WORKSPACE_ENV: str(cwd)}, timeout_seconds=seconds
        )
    except OSError as exc:
        raise WorkspaceError(f"{what} could not start: {exc.strerror or exc}") from exc
    if done.timed_out:
        raise WorkspaceError(f"{what} timed out after {seconds:g}s (environment.commandTimeout)")
    if done.exit_code != 0:
        tail = cut_tail(done.stderr.strip() or done.stdout.strip(), 500)
        raise WorkspaceError(f"{what} exited with code {done.exit_code}: {tail or 'no output'}")


def _snapshot(path: Path, baseline: Path) -> None:
    if baseline.exists():
        shutil.rmtree(baseline)
    shutil.copytree(path, baseline, symlinks=True, ignore=shutil.ignore_patterns(".git"))
