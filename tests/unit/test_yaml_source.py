"""harness.config.yaml_source: read_bytes reads a file whole, up to MAX_FILE_BYTES, even one
that grew after stat()."""

from __future__ import annotations

import os
from pathlib import Path, PosixPath
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.config import yaml_source
from harness.errors import ConfigError

CAP = 64


class _GrewAfterStat(PosixPath):
    """stat() reports the size the file had before something appended to it."""

    reported = 0

    def stat(self, *, follow_symlinks: bool = True) -> os.stat_result:
        real = super().stat(follow_symlinks=follow_symlinks)
        fields: list[Any] = list(real)
        fields[6] = min(real.st_size, self.reported)  # st_size
        return os.stat_result(fields)


@settings(max_examples=200, deadline=None)
@given(content=st.binary(max_size=2 * CAP), reported=st.integers(0, 2 * CAP))
def test_the_whole_file_up_to_the_cap(
    tmp_path_factory: pytest.TempPathFactory, content: bytes, reported: int
) -> None:
    path = tmp_path_factory.mktemp("read") / "case.yaml"
    path.write_bytes(content)
    original = yaml_source.MAX_FILE_BYTES
    yaml_source.MAX_FILE_BYTES = CAP
    try:
        if len(content) > CAP:
            with pytest.raises(ConfigError, match="is larger than"):
                yaml_source.read_bytes(path, "case.yaml")
        else:
            assert yaml_source.read_bytes(path, "case.yaml") == content
        grew = _GrewAfterStat(path)
        grew.reported = reported
        if min(len(content), reported) <= CAP:
            assert yaml_source.read_bytes(grew, "case.yaml") == content[:CAP]
    finally:
        yaml_source.MAX_FILE_BYTES = original


def test_a_real_file_reads_whole(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_bytes(b"suite_name: s\n" * 1000)
    assert yaml_source.read_bytes(path, "suite.yaml") == path.read_bytes()
