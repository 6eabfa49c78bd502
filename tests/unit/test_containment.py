"""Containment's shortcut (each folder resolved once, one lstat per file) gives exactly the
answers of resolving every path in full, whatever symlinks lie on the way."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.config.containment import Containment, outside

# Every folder of the tree holds each of these; links lead in, out, to files, to themselves.
NAMES = (
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


def test_the_shortcut_answers_as_resolving_in_full(tmp_path: Path) -> None:
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    for top in (project, elsewhere):
        (top / "sub").mkdir(parents=True)
    for folder in (project, project / "sub", elsewhere, elsewhere / "sub"):
        _populate(folder, project, elsewhere)
    roots = (Path(os.path.realpath(project)), Path(os.path.realpath(project / "sub" / "file")))
    containment = Containment(roots)  # one instance throughout, as a load uses it

    @settings(max_examples=400, deadline=None)
    @given(
        st.sampled_from([project, elsewhere, project / "sub"]),
        st.lists(st.sampled_from(NAMES), min_size=1, max_size=5),
        st.booleans(),
    )
    def check(start: Path, parts: list[str], absolute: bool) -> None:
        path = start.joinpath(*parts)
        if absolute:  # the loader's form: os.path.abspath, so no `..` is left in it
            path = Path(os.path.abspath(path))
        assert containment.outside(path) == outside(path, roots), path

    check()
