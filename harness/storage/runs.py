"""The run directory: run.json first and last, results and traces appended as attempts end."""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
from pathlib import Path
from typing import Any

import msgspec

from harness.results import AttemptResult
from harness.storage.atomic import LineAppender, atomic_write, disk_error

_encoder = msgspec.json.Encoder()
PRETTY_MAX_BYTES = 1 << 20
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def new_run_id(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def safe_name(name: str) -> str:
    """A file-name-safe form of a case id (ids may hold `/`, spaces or dots only)."""
    cleaned = _UNSAFE.sub("_", name).strip("._")
    return cleaned[:120] or "case"


def encode_line(value: Any) -> bytes:
    return _encoder.encode(value) + b"\n"


class RunDirectory:
    """Owns `<output_dir>/<suite>/<run_id>/` and every file written in it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._results = LineAppender(root / "results.jsonl")
        self._trace = LineAppender(root / "run.jsonl")

    @classmethod
    def create(cls, output_dir: Path, suite_name: str, run_id: str) -> RunDirectory:
        root = output_dir / safe_name(suite_name) / run_id
        root.mkdir(parents=True, exist_ok=False)
        return cls(root)

    def stderr_path(self, attempt_key: str) -> Path:
        return self.root / "attempts" / safe_name(attempt_key) / "stderr.log"

    def attempt_dir(self, case_id: str, model: str | None, trial: int | None) -> Path:
        """`attempts/<case>/` for a plain run; `attempts/<case>/[<model>/]trial-<n>/` in a
        sweep. Model names are made file-name safe (`openai/gpt-5` -> `openai_gpt-5`)."""
        path = self.root / "attempts" / safe_name(case_id)
        if model is not None:
            path /= safe_name(model)
        if trial is not None:
            path /= f"trial-{trial}"
        return path

    def write_transcript(self, attempt_dir: Path, events: list[dict[str, Any]]) -> None:
        """The attempt's trace as `transcript.jsonl` beside its stderr.log.

        Renamed into place whole, so a reader never sees half of one; not fsynced (one fsync
        per attempt would stall the event loop), so a power cut may lose the newest ones:
        run.jsonl has the same events.
        """
        path = attempt_dir / "transcript.jsonl"
        tmp = attempt_dir / ".transcript.jsonl.tmp"
        try:
            attempt_dir.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(b"".join(encode_line(event) for event in events))
            os.replace(tmp, path)
        except OSError as exc:
            raise disk_error(path, exc) from exc

    def append_result(self, result: AttemptResult) -> None:
        self._results.append(encode_line(result))

    def append_trace(self, events: list[dict[str, Any]]) -> None:
        if events:
            self._trace.append(b"".join(encode_line(event) for event in events))

    def write_json(self, name: str, value: Any, *, indent: int = 2) -> Path:
        path = self.root / name
        data = _encoder.encode(value)
        # A 10,000-attempt summary is megabytes: indenting it would hold a second, larger copy
        # in memory for no reader's benefit (tools parse it; people read summary.md).
        if len(data) <= PRETTY_MAX_BYTES:
            data = msgspec.json.format(data, indent=indent)
        atomic_write(path, data + b"\n")
        return path

    def write_bytes(self, name: str, data: bytes) -> Path:
        path = self.root / name
        atomic_write(path, data)
        return path

    def close(self) -> None:
        self._results.close()
        self._trace.close()


def read_results(run_dir: Path) -> list[AttemptResult]:
    """Every complete line of results.jsonl; a torn last line (killed run) is skipped."""
    path = run_dir / "results.jsonl"
    decoder = msgspec.json.Decoder(AttemptResult)
    results = []
    for line in path.read_bytes().split(b"\n"):
        if line.strip():
            try:
                results.append(decoder.decode(line))
            except msgspec.DecodeError:
                continue
    return results
