"""Temp files of atomic writes: named after their writer, removed once it is gone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.storage.atomic import atomic_write, remove_stale_temps


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_temp_file_of_a_killed_writer_is_removed_and_a_live_ones_kept(tmp_path: Path) -> None:
    target = tmp_path / "c1.jsonl"
    dead = tmp_path / f".c1.jsonl.{_dead_pid()}.x1y2.tmp"
    live = tmp_path / f".c1.jsonl.{os.getpid()}.a9b8.tmp"
    other = tmp_path / f".c10.jsonl.{_dead_pid()}.zz.tmp"  # another file's temp
    for path in (dead, live, other):
        path.write_bytes(b"half")
    assert remove_stale_temps(target) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])


def test_atomic_write_names_its_temp_after_itself_and_leaves_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.json"
    atomic_write(target, b"{}")
    assert target.read_bytes() == b"{}"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
    seen: list[str] = []
    real_replace = os.replace

    def spy(src: str, dst: str) -> None:
        seen.append(Path(src).name)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    atomic_write(target, b"[]")
    [name] = seen
    assert name.startswith(f".out.json.{os.getpid()}.") and name.endswith(".tmp")
