"""A tree of folders, files and symlinks (in, out, up, to files, to themselves) for the path
shortcuts that must answer as resolving every path in full."""

from __future__ import annotations

import os
from pathlib import Path

# Every folder of the tree holds each of these; links lead in, out, to files, to themselves.
SYMLINK_NAMES = (
    "sub",
    "file",
    "missing",
    "link_in",
    "link_out",
    "link_up",
    "file_link_in",
    "file_link_out",
    "loop",
    "..",
    ".",
)


def _populate(folder: Path, project: Path, elsewhere: Path) -> None:
    (folder / "file").write_text("x")
    os.symlink(project / "sub", folder / "link_in")
    os.symlink(elsewhere, folder / "link_out")
    os.symlink("..", folder / "link_up")
    os.symlink(project / "file", folder / "file_link_in")
    os.symlink(elsewhere / "file", folder / "file_link_out")
    os.symlink(folder / "loop", folder / "loop")


def symlink_tree(tmp_path: Path) -> tuple[Path, Path]:
    """`project` and `elsewhere` under tmp_path, each with a `sub` folder; every folder holds one
    entry of each SYMLINK_NAMES kind (links lead in, out, up, to files and to themselves)."""
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    for top in (project, elsewhere):
        (top / "sub").mkdir(parents=True)
    for folder in (project, project / "sub", elsewhere, elsewhere / "sub"):
        _populate(folder, project, elsewhere)
    return project, elsewhere
