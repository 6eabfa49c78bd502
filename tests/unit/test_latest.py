"""harness.storage.latest: `latest` is the newest run directory, by run id then by run.json."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.storage.latest import resolve_run_dir


def run_dir(root: Path, suite: str, run_id: str, written_ns: int = 0) -> Path:
    folder = root / suite / run_id
    folder.mkdir(parents=True)
    (folder / "run.json").write_text("{}")
    if written_ns:
        os.utime(folder / "run.json", ns=(written_ns, written_ns))
    return folder


def test_latest_is_the_newest_run_of_any_suite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = Path("harness_out")
    run_dir(out, "a", "20260101-120000-aaaaaa")
    newest = run_dir(out, "b", "20260102-080000-bbbbbb")
    run_dir(out, "a", "20260101-235959-cccccc")
    assert resolve_run_dir(Path("latest")) == newest
    # One second, two runs: the one whose run.json was written last.
    same_second = run_dir(out, "a", "20260102-080000-000000", written_ns=4_000_000_000_000_000_000)
    assert resolve_run_dir(Path("latest")) == same_second
    assert resolve_run_dir(out / "b" / "latest") == newest  # within one suite's folder
    assert resolve_run_dir(newest) == newest  # anything else is left as it is


def test_latest_without_runs_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match=r"^latest: no run directory under harness_out/ yet"):
        resolve_run_dir(Path("latest"))
    with pytest.raises(UsageError, match=r"^elsewhere/latest: no run directory under elsewhere/"):
        resolve_run_dir(Path("elsewhere/latest"))
