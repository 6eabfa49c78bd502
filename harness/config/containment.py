"""Where the files a suite names may be: inside the suite's project, never anywhere else.

A suite from an untrusted branch must not make harness read (into reports, or as a "schema" or
a workspace file) or overwrite (record mode) files elsewhere. RunLedger suites legitimately
reach up to a shared `cassettes/` folder (`../../cassettes/x.jsonl`), so the line is drawn at
the project, not the suite folder.

The project is the git work tree that holds the suite (the nearest folder above it with a
`.git`); outside any repository, the suite's own folder. A checkout without its `.git` (a
container image, a CI artifact) names its root in `HARNESS_PROJECT_ROOT`. The folder harness
runs from never counts: run from `/` it would hold every file of the machine; nor does `/`
itself, whichever way it is named.

`Project.contain` is the one check: every path a config can name goes through it once it is
final (after `{model}` is substituted) and again where it is opened, and what is opened is
the resolved path it returns, so a symlink that appears later (one the agent made, say) cannot
lead out between the check and the use.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import msgspec

PROJECT_ROOT_ENV = "HARNESS_PROJECT_ROOT"


class PathOutsideProject(ValueError):
    """A path that resolves (symlinks followed) outside the suite's project."""


class Project(msgspec.Struct, frozen=True):
    """The folder every file a suite names must resolve into."""

    root: Path  # resolved; never `/`

    @classmethod
    def of_suite(cls, suite_dir: Path) -> Project:
        suite_dir = Path(os.path.realpath(suite_dir))
        for folder in (suite_dir, *suite_dir.parents):
            if folder.parent != folder and os.path.lexists(folder / ".git"):
                return cls(folder)
        return cls(suite_dir)

    @classmethod
    def at(cls, root: Path, suite_dir: Path) -> Project:
        """A project the user names (HARNESS_PROJECT_ROOT; a Ray shard: its copy of the shipped
        folder). It must hold the suite and must not be `/`.

        Raises:
            PathOutsideProject: it is `/`, or the suite is not inside it.
        """
        project = cls(resolved(root))
        if project.root.parent == project.root:
            raise PathOutsideProject(
                f"project root {root} is the filesystem root, which would let a suite write "
                f"anywhere; set {PROJECT_ROOT_ENV} to the folder that holds the project"
            )
        if project.outside(suite_dir):
            raise PathOutsideProject(
                f"the suite {suite_dir} is outside the project root {root} ({PROJECT_ROOT_ENV})"
            )
        return project

    def outside(self, path: Path) -> bool:
        return not self.holds(os.path.realpath(path))

    def contain(self, path: Path, kind: str) -> Path:
        """`path` resolved, symlinks followed: the path to open.

        Raises:
            PathOutsideProject: it resolves outside the project; the message says what to do.
        """
        real = os.path.realpath(path)
        if not self.holds(real):
            raise PathOutsideProject(self.escape_message(kind, path, Path(real)))
        return Path(real)

    def holds(self, real: str) -> bool:
        """Whether `real`, a resolved path (os.path.realpath's), is the root or inside it. What
        `Path.is_relative_to` says of resolved paths, by a string test at a tenth of its cost
        (it runs for every file an attempt opens)."""
        root = str(self.root)
        return real == root or real.startswith(root if root.endswith(os.sep) else root + os.sep)

    def escape_message(self, kind: str, path: Path, real: Path | None = None) -> str:
        shown = str(path) if real is None or real == path else f"{path} (resolving to {real})"
        return (
            f"{kind} {shown} is outside the suite's project ({self.root}); keep the files a "
            "suite names in the suite's git repository (outside a repository: in the suite "
            f"folder, or set {PROJECT_ROOT_ENV} to the project's folder)"
        )


def resolved(path: Path) -> Path:
    return Path(os.path.realpath(path))


def outside(path: Path, roots: tuple[Path, ...]) -> bool:
    """True when `path` resolves (links followed) outside every folder of `roots`."""
    real = resolved(path)
    return not any(real.is_relative_to(resolved(root)) for root in roots)


class Containment:
    """`Project.outside()` for the many files of one load: each folder is resolved once, then
    one lstat per file tells whether the file is a plain one (a link, a missing file, anything
    in a folder outside the project is resolved in full). Same answers as `outside()`, at ~1
    syscall a file instead of one per path component."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._folder_inside: dict[str, bool] = {}

    def outside(self, path: Path) -> bool:
        folder, name = os.path.split(path)
        if name in ("", ".", "..") or not plain_file(path):
            return self.project.outside(path)
        inside = self._folder_inside.get(folder)
        if inside is None:
            inside = self.project.holds(os.path.realpath(folder))
            self._folder_inside[folder] = inside
        # realpath(folder/name) is realpath(folder)/name when name is no link: inside if the
        # folder is; otherwise (say, the file is the root itself) the full check decides.
        return not inside and self.project.outside(path)


def plain_file(path: Path) -> bool:
    """True when `path` exists and is no link. A path the kernel cannot follow (`missing/..`)
    may still resolve, as realpath treats a missing folder by its name: resolved in full."""
    try:
        return not stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return False
