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
import stat
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


class Containment:
    """`outside()` for the many files of one load: each folder is resolved once, then one
    lstat per file tells whether the file is a plain one (a link, a missing file, anything in
    a folder outside the roots is resolved in full). Same answers as `outside()`, at ~1
    syscall a file instead of one per path component."""

    def __init__(self, roots: tuple[Path, ...]) -> None:
        self.roots = roots
        self._folder_inside: dict[str, bool] = {}

    def outside(self, path: Path) -> bool:
        folder, name = os.path.split(path)
        if name in ("", ".", "..") or not plain_file(path):
            return outside(path, self.roots)
        inside = self._folder_inside.get(folder)
        if inside is None:
            real = Path(os.path.realpath(folder))
            inside = any(real.is_relative_to(root) for root in self.roots)
            self._folder_inside[folder] = inside
        # realpath(folder/name) is realpath(folder)/name when name is no link: under a root if
        # the folder is; otherwise (say, the file is a root itself) the full check decides.
        return not inside and outside(path, self.roots)


def plain_file(path: Path) -> bool:
    """True when `path` exists and is no link. A path the kernel cannot follow (`missing/..`)
    may still resolve, as realpath treats a missing folder by its name: resolved in full."""
    try:
        return not stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return False


def escape_message(kind: str, path: Path, roots: tuple[Path, ...]) -> str:
    widest = min(roots, key=lambda root: len(root.parts))
    return (
        f"{kind} {path} is outside the suite's project ({widest}); keep cassettes and schemas "
        "in the suite's git repository, or run harness from a folder that contains them"
    )
