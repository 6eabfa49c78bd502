"""Writing cassettes safely: staged in memory during an attempt, written when it ends.

A cassette file is only ever replaced whole (temp file, fsync, rename), so a crash, Ctrl+C or
a failed attempt leaves the previous file as it was. The header line goes first.

Several cases may share one file. Their entries are then tagged with `"case"` and merged by
case: writing case A replaces (record) or extends (auto) A's entries and keeps every other
case's, so cases never clobber each other, whatever the order they finish in. A file is shared
when more cases of the suite name it, or when it already holds another case's entries.
Untagged entries (RunLedger files, hand-written ones) are kept for the cases that have no
tagged entries yet.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import msgspec

from harness._version import __version__
from harness.cassette.format import (
    CassetteHeader,
    Entry,
    Interaction,
    check_replaceable,
    contained,
    encode_entry,
    encode_header,
    read_cassette,
)
from harness.cassette.model_entry import ModelEntry
from harness.cassette.redact import Redactor
from harness.config.containment import Project
from harness.config.schema import Case
from harness.errors import CassetteError, disk_error
from harness.storage.atomic import atomic_write, remove_stale_temps


def entries_for_case(entries: Sequence[Entry], case_id: str | None) -> list[int]:
    """Indexes of the entries a case replays: those tagged with it, else the untagged ones."""
    tagged = [i for i, entry in enumerate(entries) if entry.case is not None]
    if not tagged:
        return list(range(len(entries)))
    mine = [i for i in tagged if entries[i].case == case_id]
    if mine:
        return mine
    return [i for i, entry in enumerate(entries) if entry.case is None]


class CassetteRecorder:
    """Writes the cassettes of one run. `commit` is synchronous on purpose: attempts run as
    tasks on one thread, so two commits to one file can never interleave. Another run (another
    process) may record into the same file at the same time: each commit holds an exclusive
    lock on the cassette's folder and merges against the file as it is on disk then, so what
    the other run wrote in between is kept, never reverted."""

    def __init__(
        self,
        cases: Iterable[Case],
        *,
        redactor: Redactor,
        kind_of: Callable[[str], str | None],
    ) -> None:
        """Args:
        cases: every case of the suite (not only those selected), to see which share a file.
        redactor: applied to every entry written (idempotent, so old entries are unchanged).
        kind_of: the backend kind of a tool, named in the header.
        """
        self.redactor = redactor
        self.kind_of = kind_of
        # By the path as the case file writes it: `cassettes/{model}/x.jsonl` is one file per
        # model, shared by the same cases on every model.
        self._written_as: dict[str, Path] = {}
        self._users: dict[Path, set[str]] = {}
        for case in cases:
            if case.cassette_path is not None:
                self._written_as[case.id] = case.cassette_path
                self._users.setdefault(case.cassette_path, set()).add(case.id)
        # Entries as last read or written, with the file's identity then (inode, mtime, size):
        # a file another run replaced since is read again.
        self._entries: dict[Path, tuple[_Stamp, list[Entry]]] = {}

    def existing(self, path: Path, project: Project | None = None) -> list[Entry] | None:
        """The file's entries as it is on disk now; None when there is no file.

        Raises:
            CassetteError: the file exists but cannot be read, or is outside the project.
        """
        stamp = _stamp(contained(path, project))
        if stamp is None:
            return None
        cached = self._entries.get(path)
        if cached is None or cached[0] != stamp:
            cached = self._entries[path] = (stamp, read_cassette(path, project).entries)
        return cached[1]

    def is_shared(self, path: Path, case_id: str, project: Project | None = None) -> bool:
        if len(self._users.get(self._written_as.get(case_id, path), ())) > 1:
            return True
        try:
            entries = self.existing(path, project) or []
        except CassetteError:
            return False
        return any(entry.case not in (None, case_id) for entry in entries)

    def commit(
        self,
        case_id: str,
        path: Path,
        new: Sequence[Entry],
        *,
        append: bool,
        project: Project | None = None,
    ) -> str:
        """Write `new` as the case's entries (append: after the ones it already has).

        Returns:
            The sha256 of the bytes written.

        Raises:
            CassetteError: the existing file is unreadable and its other entries must be kept,
                it is no cassette, or the path leads out of the project.
            InfrastructureError: the file cannot be written.
        """
        real = contained(path, project)
        with _locked(real.parent):
            return self._commit(case_id, path, real, new, append=append, project=project)

    def _commit(
        self,
        case_id: str,
        path: Path,
        real: Path,
        new: Sequence[Entry],
        *,
        append: bool,
        project: Project | None,
    ) -> str:
        shared = self.is_shared(path, case_id, project)
        if shared or append:
            old = self._readable(path, case_id, project)
        else:
            # Re-recording a file only this case uses keeps nothing of it, so it is not read
            # whole; but it must be a cassette, or it is not written over.
            check_replaceable(path, real)
            old = []
        if shared:
            entries = _merge(old, case_id, new, append=append)
        else:
            entries = [msgspec.structs.replace(entry, case=None) for entry in (*old, *new)]
        entries = [self._redacted(entry) for entry in entries]
        data = self._header(entries) + b"".join(encode_entry(e) for e in entries)
        remove_stale_temps(real)  # a run killed while writing this cassette left one
        atomic_write(real, data)
        stamp = _stamp(real)
        if stamp is not None:
            self._entries[path] = (stamp, entries)
        return hashlib.sha256(data).hexdigest()

    def _readable(self, path: Path, case_id: str, project: Project | None) -> list[Entry]:
        try:
            return self.existing(path, project) or []
        except CassetteError as exc:
            raise CassetteError(
                f"{exc.message}; {case_id}'s recording was not written, so the other entries "
                "are not lost: fix or delete the file and record again",
                path=str(path),
            ) from None

    def _redacted(self, entry: Entry) -> Entry:
        redact = self.redactor
        if isinstance(entry, ModelEntry):
            return redact_model_entry(redact, entry)
        return msgspec.structs.replace(
            entry,
            args=redact.value(entry.args),
            result=redact.value(entry.result),
            error=None if entry.error is None else redact.text(entry.error),
        )

    def _header(self, entries: Sequence[Entry]) -> bytes:
        kinds = sorted(
            {
                kind
                for e in entries
                if (kind := self.kind_of(e.tool) if isinstance(e, Interaction) else e.api)
                is not None
            }
        )
        header = CassetteHeader(
            recorded_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            backend=",".join(kinds) or None,
            harness_version=__version__,
            redaction_key_id=self.redactor.key_id,
        )
        return encode_header(header)


def redact_model_entry(redact: Redactor, entry: ModelEntry) -> ModelEntry:
    """The entry as it may be stored: request, headers, body and every event's data redacted
    (an event whose data holds nothing to redact keeps its exact bytes)."""
    events = entry.events
    if events is not None:
        events = [
            event
            if (data := redact_event_data(redact, event.data)) == event.data
            else msgspec.structs.replace(event, data=data)
            for event in events
        ]
    return msgspec.structs.replace(
        entry,
        request=redact.value(entry.request),
        headers=redact.value(entry.headers),
        body=redact.value(entry.body),
        events=events,
    )


def redact_event_data(redact: Redactor, data: str) -> str:
    """An SSE event's data with its secrets masked: the text rules first (a marker keeps the
    JSON valid), then, if a secret-named key is left, the parsed JSON re-encoded."""
    text = redact.text(data)
    try:
        parsed = msgspec.json.decode(text)
    except msgspec.DecodeError:
        return text  # `[DONE]`, or not JSON at all
    if redact.clean(parsed):
        return text
    redacted = redact.value(parsed)
    return text if redacted == parsed else msgspec.json.encode(redacted).decode()


_Stamp = tuple[int, int, int]


def _stamp(path: Path) -> _Stamp | None:
    """The file's identity (inode, mtime, size), None when there is none. An atomic write
    always makes a new inode, so a file replaced since never looks the same."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError:
        return (-1, -1, -1)  # unreadable: read_cassette says why
    return (info.st_ino, info.st_mtime_ns, info.st_size)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on `folder` (flock on the folder itself: no lock file is left in the
    cassettes folder) while a commit reads and replaces a file in it. Other runs wait."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise disk_error(folder, exc) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _merge(
    old: Sequence[Entry], case_id: str, new: Sequence[Entry], *, append: bool
) -> list[Entry]:
    """The case's block replaces its old one in place (or goes last); the rest is kept."""
    kept = [old[i] for i in entries_for_case(old, case_id)] if append else []
    block = [msgspec.structs.replace(entry, case=case_id) for entry in (*kept, *new)]
    merged: list[Entry] = []
    placed = False
    for entry in old:
        if entry.case == case_id:
            if not placed:
                merged.extend(block)
                placed = True
        else:
            merged.append(entry)
    if not placed:
        merged.extend(block)
    return merged
