"""The runs the server knows: run directories under the served folder, found by their run.json
and named by run id. A request names a run by id only; no path ever comes from a client.

The folder is `<output_dir>/<suite>/<run_id>/` as harness writes it; a suite folder or one run
folder can be served too. Links are not followed, so nothing outside the folder is read.
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import msgspec

RUN_FILE = "run.json"
# Run ids harness makes are `20261206-135804-37902f`; anything else in a run.json is not one.
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
RESCAN_SECONDS = 1.0


class _Head(msgspec.Struct):
    """The fields of run.json the index needs."""

    run_id: str = ""
    suite: str = ""
    started_at: str = ""


@dataclass(frozen=True)
class RunRef:
    run_id: str
    suite: str
    started_at: str
    path: Path


def valid_run_id(text: str) -> bool:
    return _RUN_ID.fullmatch(text) is not None


class RunIndex:
    """Run directories by id, rescanned at most once a `rescan_seconds` (runs come and go while
    the server runs). Safe to share between the server's worker threads."""

    def __init__(self, root: Path, *, rescan_seconds: float = RESCAN_SECONDS) -> None:
        self.root = Path(os.path.realpath(root))
        self.rescan_seconds = rescan_seconds
        self._lock = threading.Lock()
        self._by_id: dict[str, RunRef] = {}
        self._heads: dict[Path, tuple[int, RunRef | None]] = {}  # run.json mtime, its run
        self._scanned_at = float("-inf")

    def refresh(self, *, force: bool = False) -> None:
        with self._lock:
            now = time.monotonic()
            if not force and now - self._scanned_at < self.rescan_seconds:
                return
            self._scanned_at = now
            by_id: dict[str, RunRef] = {}
            heads: dict[Path, tuple[int, RunRef | None]] = {}
            for folder in sorted(_run_folders(self.root)):
                ref = self._read_head(folder, heads)
                if ref is not None:
                    by_id.setdefault(ref.run_id, ref)  # the same id twice: the first one
            self._by_id, self._heads = by_id, heads

    def _read_head(
        self, folder: Path, heads: dict[Path, tuple[int, RunRef | None]]
    ) -> RunRef | None:
        try:
            mtime = os.stat(folder / RUN_FILE, follow_symlinks=False).st_mtime_ns
        except OSError:
            return None
        known = self._heads.get(folder)
        if known is not None and known[0] == mtime:
            heads[folder] = known
            return known[1]
        ref = _head_of(folder)
        heads[folder] = (mtime, ref)
        return ref

    def runs(self) -> list[RunRef]:
        """Every run, newest first."""
        self.refresh()
        return sorted(self._by_id.values(), key=lambda r: (r.started_at, r.run_id), reverse=True)

    def get(self, run_id: str) -> RunRef | None:
        if not valid_run_id(run_id):
            return None
        ref = self._by_id.get(run_id)
        if ref is None:
            self.refresh()  # a run that started since the last scan
            ref = self._by_id.get(run_id)
        return ref

    def previous(self, ref: RunRef) -> RunRef | None:
        """The run of the same suite that started last before `ref`."""
        earlier = [
            other
            for other in self.runs()
            if other.suite == ref.suite
            and (other.started_at, other.run_id) < (ref.started_at, ref.run_id)
        ]
        return earlier[0] if earlier else None


def _run_folders(root: Path) -> list[Path]:
    """Folders holding a run.json: the root, its children and grandchildren (no links)."""
    found: list[Path] = []
    level = [root]
    for _ in range(3):
        below: list[Path] = []
        for folder in level:
            if os.path.isfile(folder / RUN_FILE) and not os.path.islink(folder / RUN_FILE):
                found.append(folder)
                continue  # a run folder holds no runs
            below.extend(_subfolders(folder))
        level = below
    return found


def _subfolders(folder: Path) -> list[Path]:
    try:
        with os.scandir(folder) as entries:
            return [
                Path(entry.path)
                for entry in entries
                if entry.is_dir(follow_symlinks=False) and not entry.name.startswith(".")
            ]
    except OSError:
        return []


def _head_of(folder: Path) -> RunRef | None:
    try:
        head = msgspec.json.decode((folder / RUN_FILE).read_bytes(), type=_Head)
    except (OSError, msgspec.DecodeError):
        return None
    run_id = head.run_id or folder.name
    if not valid_run_id(run_id):
        return None
    return RunRef(run_id, head.suite or folder.parent.name, head.started_at, folder)
