"""Containment at load time (harness.config.containment): resolving each folder once and
lstat-ing each file gives exactly the answers of resolving every path in full, whatever
symlinks lie on the way."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from harness.config.containment import Containment, outside
from tests.support.trees import SYMLINK_NAMES, symlink_tree


def test_containment_answers_as_resolving_in_full(tmp_path: Path) -> None:
    project, elsewhere = symlink_tree(tmp_path)
    roots = (Path(os.path.realpath(project)), Path(os.path.realpath(project / "sub" / "file")))
    containment = Containment(roots)  # one instance throughout, as a load uses it

    @settings(max_examples=600, deadline=None)
    @given(
        st.sampled_from([project, elsewhere, project / "sub"]),
        st.lists(st.sampled_from(SYMLINK_NAMES), min_size=1, max_size=5),
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
