"""Where a suite's cassettes and schemas may live: inside the suite's project, never anywhere
on the machine.

A suite from an untrusted branch must not make harness read (into reports, or as a "schema")
or overwrite (record mode) files elsewhere. RunLedger suites legitimately reach up to a shared
`cassettes/` folder (`../../cassettes/x.jsonl`), so the line is drawn at the project, not the
suite folder: the git repository that holds the suite, or else the directory harness runs
from. Paths are compared after symlinks are resolved, so a link cannot lead out either.
"""

from __future__ import annotations

import os
from pathlib import Path


def project_roots(suite_dir: Path, cwd: Path | None = None) -> tuple[Path, ...]:
    """The folders a suite's files may be in: its repository, the cwd (when the suite is
    inside it), and the suite folder itself."""
    suite_dir = Path(os.path.realpath(suite_dir))
    cwd = Path(os.path.realpath(cwd or Path.cwd()))
    roots = [suite_dir]
    for folder in (suite_dir, *suite_dir.parents):
        if (folder / ".git").exists():
            roots.append(folder)
            break
    if suite_dir.is_relative_to(cwd):
        roots.append(cwd)
    return tuple(roots)


def outside(path: Path, roots: tuple[Path, ...]) -> bool:
    real = Path(os.path.realpath(path))
    return not any(real.is_relative_to(root) for root in roots)


def escape_message(kind: str, path: Path, roots: tuple[Path, ...]) -> str:
    widest = min(roots, key=lambda root: len(root.parts))
    return (
        f"{kind} {path} is outside the suite's project ({widest}); keep cassettes and schemas "
        "in the suite's git repository, or run harness from a folder that contains them"
    )
