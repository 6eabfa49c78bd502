"""Fingerprints of what decides an attempt's outcome, for `--incremental`; and the git commit.

An attempt whose fingerprint is unchanged since it passed can be skipped. So the fingerprint
covers everything the outcome depends on: the agent's files and how it is started, the case
(input, assertions with their schemas, budgets, normalization, pass threshold, and the
workspace: its setup commands and the bytes of every file seeded into it), the cassette's bytes, the
tool registry and replay settings, the model and trial, and the harness version. What it
cannot see (a library the agent imports, the network in live mode) is why `--refresh-cache`
exists.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import msgspec

from harness._version import __version__
from harness.config.files import read_regular
from harness.config.schema import Case, Suite

# Bump when the fingerprint's inputs change meaning, so old history rows stop matching.
FINGERPRINT_VERSION = 2  # 2: threshold and workspace


def _encode(value: Any) -> bytes:
    return msgspec.json.encode(value, enc_hook=str, order="sorted")


def _file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(read_regular(path)).hexdigest()
    except OSError:
        return None


def _tree_digest(path: Path) -> str | None:
    """A file's digest, or a folder's: every file under it, by relative name and bytes."""
    if not path.is_dir():
        return _file_digest(path)
    digest = hashlib.sha256()
    for folder, dirs, files in sorted(os.walk(path)):
        dirs.sort()
        for name in sorted(files):
            full = Path(folder) / name
            digest.update(_encode([str(full.relative_to(path)), _file_digest(full)]))
    return digest.hexdigest()


def _workspace_inputs(case: Case, cache: dict[Path, str | None]) -> Any:
    spec = case.workspace
    if spec is None:
        return None
    sources = []
    for item in spec.files:
        src = Path(item if isinstance(item, str) else item.src)
        if src not in cache:
            cache[src] = _tree_digest(src)
        sources.append([str(src), None if isinstance(item, str) else item.dest, cache[src]])
    return {"files": sources, "commands": spec.commands, "timeout": spec.command_timeout}


def agent_digest(suite: Suite) -> str:
    """The agent as started: its command, cwd, env, and the bytes of every file it names."""
    digest = hashlib.sha256()
    digest.update(_encode([list(suite.agent_command), suite.agent_cwd, suite.agent_env]))
    for element in suite.agent_command:
        path = Path(element) if os.path.isabs(element) else None
        if path is not None and path.is_file():
            digest.update(_encode([element, _file_digest(path)]))
    return digest.hexdigest()


def digest_files(case: Case, cache: dict[Path, str | None]) -> None:
    """Digest into `cache` now the files `case`'s fingerprints read (its cassette, the files
    seeded into its workspace), so that every later fingerprint sees them as they are now."""
    if case.cassette_path is not None and case.cassette_path not in cache:
        cache[case.cassette_path] = _file_digest(case.cassette_path)
    _workspace_inputs(case, cache)


def attempt_fingerprint(
    suite: Suite,
    case: Case,
    *,
    agent: str,
    model: str | None = None,
    trial: int | None = None,
    cassettes: dict[Path, str | None] | None = None,
) -> str:
    """sha256 over everything that decides the attempt's outcome (see the module docstring).

    `agent` is `agent_digest(suite)`, computed once per run; `cassettes` caches file digests.
    """
    cache = cassettes if cassettes is not None else {}
    digest_files(case, cache)
    cassette = None if case.cassette_path is None else cache[case.cassette_path]
    inputs = {
        "v": FINGERPRINT_VERSION,
        "harness": __version__,
        "agent": agent,
        "case": {
            "id": case.id,
            "input": case.input,
            "assertions": case.assertions,
            "schemas": case.schemas,
            "budgets": case.budgets,
            "normalization": case.normalization,
            "threshold": case.threshold,
            "workspace": _workspace_inputs(case, cache),
        },
        "cassette": cassette,
        "suite": {
            "tool_registry": sorted(suite.tool_registry),
            "mode": suite.mode.value,
            "strict": suite.strict,
            "max_line_bytes": suite.max_line_bytes,
        },
        "model": model,
        "trial": trial,
    }
    return hashlib.sha256(_encode(inputs)).hexdigest()


def git_sha(start: Path, *, ci_variables: bool = True) -> str | None:
    """The commit checked out at or above `start`: CI's variable first (unless `ci_variables`
    is False: they name the commit of the repository CI checked out, not of any other), else
    read from .git.

    Read from the files, not by running git: no process to spawn, and no git needed.
    """
    for variable in ("GITHUB_SHA", "CI_COMMIT_SHA", "GIT_COMMIT") if ci_variables else ():
        if value := os.environ.get(variable):
            return value
    for folder in [start.resolve(), *start.resolve().parents]:
        dot_git = folder / ".git"
        if dot_git.is_file():  # a worktree or submodule: "gitdir: <path>"
            text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
            if not text.startswith("gitdir:"):
                return None
            dot_git = (folder / text.removeprefix("gitdir:").strip()).resolve()
        if dot_git.is_dir():
            return _read_head(dot_git)
    return None


def _read_head(git_dir: Path) -> str | None:
    try:
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not head.startswith("ref:"):
        return head or None
    ref = head.removeprefix("ref:").strip()
    common = git_dir
    if (git_dir / "commondir").is_file():
        common = (git_dir / (git_dir / "commondir").read_text().strip()).resolve()
    for base in (git_dir, common):
        try:
            return (base / ref).read_text(encoding="utf-8").strip() or None
        except OSError:
            continue
    try:
        for line in (common / "packed-refs").read_text(encoding="utf-8").splitlines():
            sha, _, name = line.partition(" ")
            if name == ref:
                return sha
    except OSError:
        pass
    return None
