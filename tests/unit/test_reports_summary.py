"""summary.json's cassette paths (harness.reports.summary.DisplayPaths): resolving each folder
once and lstat-ing each file shows exactly the paths that resolving in full shows, whatever
symlinks lie on the way."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from harness.reports.summary import DisplayPaths
from tests.support.trees import SYMLINK_NAMES, symlink_tree


def resolved_in_full(path: Path) -> str:
    """What summary.json shows for a path: relative to the cwd when under it, both resolved."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def test_summary_cassette_paths_read_as_resolving_in_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, elsewhere = symlink_tree(tmp_path)
    monkeypatch.chdir(project / "link_in")  # the cwd through a link, as `cd` through one

    @settings(max_examples=600, deadline=None)
    @given(
        st.sampled_from([project, elsewhere, project / "sub", Path("."), Path("sub")]),
        st.lists(st.sampled_from(SYMLINK_NAMES), min_size=1, max_size=5),
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
