"""Replay from a large cassette without decoding it into memory.

One pass over the file checks every line as `read_cassette` does (same errors) and keeps, per
tool entry, only where its line is in the file's bytes, its file line, its case tag and a
64-bit hash of its key (tool, canonical args as matching compares them), in `array`s: about
40 bytes an entry besides the file itself, where decoded entries took about 1.1 KB. An entry
is decoded again only when it answers a call, when a hash match is confirmed, or for a miss's
message. Replay answers exactly as `ReplayCassette` over the decoded entries does
(tests/unit/test_lazy_cassette.py checks this property).

Record and auto mode keep the decoded path (`read_cassette`): they rewrite the file.
"""

from __future__ import annotations

import hashlib
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from harness.cassette import format as fmt
from harness.cassette.format import CassetteHeader, Interaction
from harness.cassette.matching import Key, ReplayCassette, canonical_args
from harness.cassette.model_entry import ModelEntry, is_model_line, to_model_entry
from harness.config.containment import Project

# Hashes of the keys of a batch of entries, given each one's tool and args (as JSON bytes).
Hasher = Callable[[list[str], list[bytes]], list[int]]
# The keys themselves, the same way.
Keyer = Callable[[list[str], list[bytes]], list[Key]]
# Decode a batch's args once per this many entries (bounded memory, one redaction screen each).
_BATCH = 4096
_FIX = "fix the line or re-record the cassette"


class _Head(msgspec.Struct):
    """The fields of a line that decide what it is; `result` is checked, never built."""

    tool: Any = None
    args: msgspec.Raw = msgspec.Raw(b"")
    ok: Any = None
    case: Any = None
    kind: Any = None
    type: Any = None


_head_decoder = msgspec.json.Decoder(_Head)


class IndexedCassette:
    """A checked cassette file: header and model entries decoded (they are few), tool entries
    indexed. `lines[i]` is the file line of tool entry i, `cases[i]` its case tag's position in
    `case_names` (-1: untagged)."""

    def __init__(self, path: Path, data: bytes) -> None:
        self.path = path
        self.data = data
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.header: CassetteHeader | None = None
        self.models: list[ModelEntry] = []
        self.model_lines: list[int] = []
        self.starts = array("Q")
        self.ends = array("Q")
        self.lines = array("I")
        self.cases = array("i")
        # hash() of each key: process-local (never stored or sent), like the index itself.
        self.hashes = array("q")
        self.case_names: list[str] = []

    def __len__(self) -> int:
        return len(self.lines)

    def interaction(self, index: int) -> Interaction:
        """Tool entry `index`, decoded (it was checked when indexed)."""
        raw = self.data[self.starts[index] : self.ends[index]].strip()
        number = self.lines[index]
        return fmt._to_interaction(self.path, number, fmt._decode_object(self.path, number, raw))

    def tool_and_args(self, index: int) -> tuple[str, bytes]:
        """Tool entry `index`'s tool and args JSON, without decoding the rest of its line."""
        head = _head_decoder.decode(self.data[self.starts[index] : self.ends[index]].strip())
        return head.tool, bytes(head.args)

    def interactions(self) -> Iterator[Interaction]:
        return (self.interaction(index) for index in range(len(self)))

    def for_case(self, case_id: str | None) -> array[int]:
        """Positions of the entries `case_id` replays (the rule of recorder.entries_for_case)."""
        if not self.case_names:
            return array("I", range(len(self)))
        mine = self.case_names.index(case_id) if case_id in self.case_names else -2
        wanted = mine if mine in self.cases else -1
        return array("I", (i for i, tag in enumerate(self.cases) if tag == wanted))


def index_cassette(path: Path, project: Project | None, hasher: Hasher) -> IndexedCassette:
    """Read and check a cassette as `read_cassette` does, indexing its tool entries.

    Raises:
        CassetteError: `path:line: what is wrong; what to do` (read_cassette's messages).
    """
    data = fmt._read_bytes(path, fmt.contained(path, project))
    indexed = IndexedCassette(path, data)
    tools: list[str] = []
    args: list[bytes] = []
    position = len(fmt._BOM) if data.startswith(fmt._BOM) else 0
    number = 0
    while position <= len(data):
        end = data.find(b"\n", position)
        end = len(data) if end < 0 else end
        number += 1
        line = data[position:end].strip()
        if line:
            entry = _check_line(indexed, line, number)
            if entry is not None:
                _append(indexed, entry, position, end, number)
                tools.append(entry[0])
                args.append(entry[1])
                if len(tools) == _BATCH:
                    indexed.hashes.extend(hasher(tools, args))
                    tools, args = [], []
        position = end + 1
    indexed.hashes.extend(hasher(tools, args))
    return indexed


def _append(
    indexed: IndexedCassette, entry: tuple[str, bytes, Any], start: int, end: int, number: int
) -> None:
    indexed.starts.append(start)
    indexed.ends.append(end)
    indexed.lines.append(number)
    case = entry[2]
    if not isinstance(case, str):
        indexed.cases.append(-1)
        return
    if case not in indexed.case_names:
        indexed.case_names.append(case)
    indexed.cases.append(indexed.case_names.index(case))


def _check_line(
    indexed: IndexedCassette, line: bytes, number: int
) -> tuple[str, bytes, Any] | None:
    """(tool, args JSON, case) of a tool line; None for a header or model line (kept decoded).

    Raises:
        CassetteError: the line is not a valid cassette line.
    """
    head = _head(line)
    if (
        head is not None
        and isinstance(head.tool, str)
        and bytes(head.args)[:1] == b"{"
        and isinstance(head.ok, bool)
        and head.kind != "model"
        and head.type != fmt.HEADER_TYPE
    ):
        return head.tool, bytes(head.args), head.case
    # Anything else goes the way read_cassette goes, for its checks and messages.
    raw = fmt._decode_object(indexed.path, number, line)
    if raw.get("type") == fmt.HEADER_TYPE:
        if len(indexed) or indexed.header is not None:
            raise fmt._fail(
                indexed.path, number, "cassette_header after the first line", "move it first"
            )
        indexed.header = fmt._to_header(indexed.path, number, raw)
        return None
    if is_model_line(raw):
        try:
            indexed.models.append(to_model_entry(raw))
        except ValueError as exc:
            raise fmt._fail(indexed.path, number, str(exc), _FIX) from None
        indexed.model_lines.append(number)
        return None
    interaction = fmt._to_interaction(indexed.path, number, raw)
    return interaction.tool, msgspec.json.encode(interaction.args), interaction.case


def _head(line: bytes) -> _Head | None:
    """The line's deciding fields, or None when it needs read_cassette's checks and messages."""
    if not line.isascii():
        try:  # msgspec skips `result` without checking its UTF-8: check the line whole
            line.decode("utf-8")
        except UnicodeDecodeError:
            return None
    try:
        return _head_decoder.decode(line)
    except (msgspec.DecodeError, RecursionError):
        return None


class LazyReplayCassette(ReplayCassette):
    """ReplayCassette over an IndexedCassette: the same answers, misses and problems.

    Entries sharing a hash sit together in `_order` (file order within), so the Nth call of a
    key walks its run once; each candidate is decoded and its key compared, since two keys may
    share a 64-bit hash.
    """

    def __init__(
        self,
        indexed: IndexedCassette,
        chosen: array[int],
        keyed: Callable[[Interaction], Interaction],
        keys: Keyer,
        *,
        strict: bool,
        source: str,
    ) -> None:
        self.strict = strict
        self.interactions = []  # never filled: entries are decoded from `_indexed`
        self._source = source
        self._indexed = indexed
        self._chosen = chosen
        self._keyed = keyed
        self._keys_of = keys
        self._lines = array("I", (indexed.lines[i] for i in chosen))
        hashes = indexed.hashes
        self._order = array("I", sorted(range(len(chosen)), key=lambda i: hashes[chosen[i]]))
        self._sorted = array("q", (hashes[chosen[i]] for i in self._order))
        # Per key called: [next position in its run, run end, first, last, found].
        self._runs: dict[Key, list[int]] = {}
        self._recent: tuple[int, Interaction] | None = None
        self._start_replay(len(chosen))

    def _entry(self, index: int) -> Interaction:
        if self._recent is None or self._recent[0] != index:
            self._recent = (index, self._keyed(self._indexed.interaction(self._chosen[index])))
        return self._recent[1]

    def _key(self, index: int) -> Key:
        entry = self._entry(index)
        return entry.tool, canonical_args(entry.args)

    def _nth(self, key: Key, count: int) -> int | None:
        # Calls of a key come with count 0, 1, 2, ...: continue its run where the last stopped.
        run = self._runs.get(key)
        if run is None:
            wanted = hash(key)
            start = bisect_left(self._sorted, wanted)
            run = self._runs[key] = [start, bisect_right(self._sorted, wanted), -1, -1, 0]
        while run[0] < run[1]:
            index = self._order[run[0]]
            run[0] += 1
            if self._key(index) == key:
                run[2] = index if run[2] < 0 else run[2]
                run[3] = index
                run[4] += 1
                return index
        return None

    def _last(self, key: Key) -> int | None:
        run = self._runs.get(key)
        return None if run is None or run[3] < 0 else run[3]

    def _overused(self) -> list[tuple[int, int]]:
        over = [
            (run[2], run[3], run[4])
            for key, run in self._runs.items()
            if run[4] and self._answered.get(key, 0) > run[4]
        ]
        return [(last, found) for _, last, found in sorted(over)]

    def _first_keys(self) -> Iterator[tuple[int, Key]]:
        # The first of each hash run is its key's first entry (a key sharing a hash with
        # another is ranked by the other's first: a 2^-64 chance, and only for a miss's hint).
        firsts = sorted(
            self._order[position]
            for position in range(len(self._sorted))
            if position == 0 or self._sorted[position] != self._sorted[position - 1]
        )
        for batch in range(0, len(firsts), _BATCH):
            chosen = firsts[batch : batch + _BATCH]
            heads = [self._indexed.tool_and_args(self._chosen[index]) for index in chosen]
            keys = self._keys_of([tool for tool, _ in heads], [args for _, args in heads])
            yield from zip(chosen, keys, strict=True)
