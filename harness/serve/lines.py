"""JSONL files a run is still appending to, read as complete lines from a byte offset.

A writer appends whole lines, but a reader can arrive between two writes of one line: a line is
only ever read once its newline is on disk, and the offset handed back is the byte after the
last complete line, so the next read starts exactly where this one stopped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from harness.results import AttemptResult

T = TypeVar("T")


class FailureHead(msgspec.Struct):
    type: str = ""
    message: str = ""


class VerdictHead(msgspec.Struct):
    grader: str = ""
    status: str = ""
    name: str | None = None


class Row(msgspec.Struct):
    """The fields of an AttemptResult that lists, tallies and filters read (same names), several
    times cheaper to decode than whole results."""

    case_id: str
    status: str
    wall_ms: int = 0
    attempt_id: str = ""
    model: str | None = None
    trial: int | None = None
    outcome: str = ""
    cost_usd: float | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    tool_calls: int = 0
    score: float | None = None
    flaky: bool = False
    reruns: int = 0
    reused_from: str | None = None
    started_at: str | None = None
    failures: list[FailureHead] = []
    verdicts: list[VerdictHead] = []

    @property
    def key(self) -> str:
        return self.attempt_id or self.case_id

    @property
    def reason(self) -> str | None:
        return self.failures[0].type if self.failures else None


_row_decoder = msgspec.json.Decoder(Row)
_result_decoder = msgspec.json.Decoder(AttemptResult)
_any_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder()


def file_size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def complete_lines(path: Path, start: int = 0) -> Iterator[tuple[int, bytes]]:
    """(offset, line without its newline) for each complete line from byte `start` on; a last
    line without its newline yet is left for the next read."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 (closed below; a generator cannot use `with`)
    except OSError:
        return
    with handle:
        handle.seek(start)
        offset = start
        for line in handle:
            if not line.endswith(b"\n"):
                return
            yield offset, line[:-1]
            offset += len(line)


def end_of_complete_lines(path: Path, start: int = 0) -> int:
    """The offset after the last complete line at or past `start` (what a tail hands back)."""
    end = start
    for offset, line in complete_lines(path, start):
        end = offset + len(line) + 1
    return end


def decode_row(line: bytes) -> Row | None:
    try:
        return _row_decoder.decode(line) if line.strip() else None
    except msgspec.DecodeError:
        return None


def scan_rows(path: Path, start: int = 0) -> Iterator[tuple[int, int, Row | None]]:
    """(offset, end, row) for each complete line from `start` on; row is None for a line that is
    no result (blank, or of another shape). Readers that keep an offset step past those too, so
    no line is read twice."""
    for offset, line in complete_lines(path, start):
        yield offset, offset + len(line) + 1, decode_row(line)


def iter_rows(path: Path, start: int = 0) -> Iterator[tuple[int, int, Row]]:
    """(offset, end, row) for each complete, decodable result line from `start` on."""
    for offset, end, row in scan_rows(path, start):
        if row is not None:
            yield offset, end, row


def read_result(path: Path, offset: int) -> AttemptResult | None:
    """The whole result whose line starts at `offset`."""
    for _, line in complete_lines(path, offset):
        try:
            return _result_decoder.decode(line)
        except msgspec.DecodeError:
            return None
    return None


def decode_object(line: bytes) -> dict[str, Any] | None:
    """One JSONL line as an object, or None (a bad, torn or non-object line)."""
    try:
        value = _any_decoder.decode(line)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None
    return value if isinstance(value, dict) else None
