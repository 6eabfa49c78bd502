"""The shortcuts that resolve each folder once and lstat each file (containment at load time,
cassette paths in summary.json) give exactly the answers of resolving every path in full,
whatever symlinks lie on the way."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from harness.config.containment import Containment, outside
from harness.reports.summary import DisplayPaths

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


def _tree(tmp_path: Path) -> tuple[Path, Path]:
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    for top in (project, elsewhere):
        (top / "sub").mkdir(parents=True)
    for folder in (project, project / "sub", elsewhere, elsewhere / "sub"):
        _populate(folder, project, elsewhere)
    return project, elsewhere


def test_containment_answers_as_resolving_in_full(tmp_path: Path) -> None:
    project, elsewhere = _tree(tmp_path)
    roots = (Path(os.path.realpath(project)), Path(os.path.realpath(project / "sub" / "file")))
    containment = Containment(roots)  # one instance throughout, as a load uses it

    @settings(max_examples=600, deadline=None)
    @given(
        st.sampled_from([project, elsewhere, project / "sub"]),
        st.lists(st.sampled_from(NAMES), min_size=1, max_size=5),
        st.booleans(),
    )
    @example(project, ["file", "..", "link_out"], False)  # the kernel cannot lstat it
    @example(project, ["missing", "..", "link_out"], False)
    def check(start: Path, parts: list[str], absolute: bool) -> None:
        path = start.joinpath(*parts)
        if absolute:  # the loader's form: os.path.abspath, so no `..` is left in it
            path = Path(os.path.abspath(path))
        assert containment.outside(path) == outside(path, roots), path

    check()


def resolved_in_full(path: Path) -> str:
    """What summary.json shows for a path: relative to the cwd when under it, both resolved."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def test_summary_cassette_paths_read_as_resolving_in_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, elsewhere = _tree(tmp_path)
    monkeypatch.chdir(project / "link_in")  # the cwd through a link, as `cd` through one

    @settings(max_examples=600, deadline=None)
    @given(
        st.sampled_from([project, elsewhere, project / "sub", Path("."), Path("sub")]),
        st.lists(st.sampled_from(NAMES), min_size=1, max_size=5),
    )
    @example(Path("sub"), ["..", "link_in"])
    def check(start: Path, parts: list[str]) -> None:
        display = DisplayPaths()  # one per run's end; each example is a run's rows
        first = str(start.joinpath(*parts))
        sibling = os.path.join(os.path.dirname(first), "file")  # its folder from the cache
        for path in (first, sibling, first):  # the last from the cache of paths shown
            try:
                expected: str | type[BaseException] = resolved_in_full(Path(path))
            except RuntimeError:  # a symlink loop
                expected = RuntimeError
            try:
                got: str | type[BaseException] = display(path)
            except RuntimeError:
                got = RuntimeError
            assert got == expected, path

    check()
