"""Replay: answer a tool call from a cassette, consuming identical recorded calls in order.

A call matches an interaction when the tool name is equal and `canonical_args` are equal. A miss
raises CassetteMissError naming the closest recorded interactions and how their args differ.
"""

from __future__ import annotations

import difflib
import heapq
from collections.abc import Iterator, Sequence
from typing import Any

import msgspec

from harness.cassette.format import RECORD_HINT, Interaction
from harness.errors import CassetteMissError
from harness.excerpts import WINDOW_CHARS, redact

NEAREST_SHOWN = 3
# Strict replay names this many unused entries one by one; the rest are counted in one more
# problem and listed, as line ranges, by `unused_ranges` (the gateway writes them to a file): a
# million-entry cassette must not make a million failures in results, reports and the console.
UNUSED_LISTED = 10
RANGES_SHOWN = 5
DIFF_LINES_SHOWN = 6
VALUE_CHARS = 60
# Ranking every entry with SequenceMatcher.ratio is quadratic in the args' size; rank by the
# cheap quick_ratio first and refine only the best few.
_REFINED = 20
_RATIO_BYTES = 2000

_encoder = msgspec.json.Encoder(order="deterministic")
Key = tuple[str, bytes]
_Key = Key


def canonical_args(args: Any) -> bytes:
    """The bytes two calls' args must share to match.

    Key order never matters (at any depth), list order does, strings compare exactly. Numbers
    compare by value: an integral float becomes an int, so `1` matches `1.0`. JSON has a single
    number type and an agent written in JavaScript cannot tell 1 from 1.0, so the distinction
    RunLedger makes is noise. Booleans stay booleans: `true` never matches `1`.
    """
    return _encoder.encode(_canonical_value(args))


def _canonical_number(text: str) -> int | float:
    number = float(text)
    return int(number) if number.is_integer() else number


# Decodes JSON straight into _canonical_value's form (an integral float becomes an int).
_canonical_decoder = msgspec.json.Decoder(float_hook=_canonical_number)


def decode_canonical(args_json: bytes) -> Any:
    """`args_json` decoded in the form canonical_args compares: `encode_canonical` of it is
    canonical_args of the decoded value, without a Python walk of the value (the lazy index)."""
    return _canonical_decoder.decode(args_json)


def encode_canonical(value: Any) -> bytes:
    """The bytes of a value from `decode_canonical` (keys sorted at every depth)."""
    return _encoder.encode(value)


def _canonical_value(value: Any) -> Any:
    match value:
        case bool():
            return value
        case float() if value.is_integer():
            return int(value)
        case dict():
            return {key: _canonical_value(item) for key, item in value.items()}
        case list() | tuple():
            return [_canonical_value(item) for item in value]
        case _:
            return value


class ReplayProblem(msgspec.Struct, frozen=True):
    """A strict-replay violation. `kind` is the failure type written to results."""

    kind: str  # cassette_unused | cassette_out_of_order | cassette_overused
    message: str
    index: int  # the recorded entry concerned


class ReplayCassette:
    """Answers calls from recorded interactions.

    The Nth identical call (same tool, same canonical args) gets the Nth matching entry, and
    the last matching entry again after that, so RunLedger's repeat-the-answer suites still pass.
    `unused()` works in every mode; `problems()` reports strict-mode violations (unused entries,
    calls out of recorded order, calls repeated more often than recorded) and is empty when
    `strict` is false.
    """

    def __init__(
        self,
        interactions: Sequence[Interaction],
        *,
        strict: bool = False,
        lines: Sequence[int] | None = None,
        source: str | None = None,
    ) -> None:
        """Args:
        interactions: the cassette's entries in file order.
        strict: report unused entries, out-of-order and over-repeated calls in `problems()`.
        lines: file line of each entry (from `read_cassette`), used in messages.
        source: the cassette path, used in messages.
        """
        self.interactions = list(interactions)
        self.strict = strict
        self._lines: Sequence[int] | None = list(lines) if lines is not None else None
        self._source = source
        self._keys: list[_Key] = []
        self._entries: dict[_Key, list[int]] = {}
        for index, interaction in enumerate(self.interactions):
            key = (interaction.tool, canonical_args(interaction.args))
            self._keys.append(key)
            self._entries.setdefault(key, []).append(index)
        self._start_replay(len(self.interactions))

    def _start_replay(self, size: int) -> None:
        """The replay state, shared with harness.cassette.lazy's index."""
        self.size = size
        self._answered: dict[_Key, int] = {}
        self._used = bytearray(size)
        self._latest_index = -1
        self._out_of_order: list[ReplayProblem] = []

    # What a subclass keeping its entries elsewhere (harness.cassette.lazy) provides.
    def _entry(self, index: int) -> Interaction:
        return self.interactions[index]

    def _key(self, index: int) -> _Key:
        return self._keys[index]

    def _line(self, index: int) -> int:
        assert self._lines is not None
        return self._lines[index]

    def _nth(self, key: _Key, count: int) -> int | None:
        """The index of the count-th (from 0) entry recorded for `key`; None past the last."""
        indexes = self._entries.get(key, [])
        return indexes[count] if count < len(indexes) else None

    def _last(self, key: _Key) -> int | None:
        """The last entry recorded for `key` (once `_nth` has said there is no more)."""
        indexes = self._entries.get(key)
        return indexes[-1] if indexes else None

    def _overused(self) -> list[tuple[int, int]]:
        """(last entry, times recorded) of each key called more often than recorded, in
        the order of the keys' first entries."""
        return [
            (indexes[-1], len(indexes))
            for key, indexes in self._entries.items()
            if self._answered.get(key, 0) > len(indexes)
        ]

    def _first_keys(self) -> Iterator[tuple[int, _Key]]:
        """The first entry of each distinct key, in file order, with its key."""
        return ((indexes[0], key) for key, indexes in self._entries.items())

    def answer(self, tool: str, args: dict[str, Any]) -> Interaction:
        """The recorded interaction for this call.

        Raises:
            CassetteMissError: nothing recorded for this tool and args.
        """
        key = (tool, canonical_args(args))
        count = self._answered.get(key, 0)
        index = self._nth(key, count)
        if index is None:
            last = self._last(key)
            if last is None:
                raise self._miss(tool, args, key[1])
            # Past the recorded calls: repeat the last answer (reported by problems()).
            self._answered[key] = count + 1
            return self._entry(last)
        self._answered[key] = count + 1
        if index < self._latest_index:
            message = (
                f"{self._label(index)} was called after {self._where(self._latest_index)}, "
                "out of recorded order"
            )
            self._out_of_order.append(ReplayProblem("cassette_out_of_order", message, index))
        self._latest_index = max(self._latest_index, index)
        self._used[index] = 1
        return self._entry(index)

    def unused(self) -> list[int]:
        """Indexes of entries no call consumed, in file order."""
        return [index for index, used in enumerate(self._used) if not used]

    def problems(self) -> list[ReplayProblem]:
        """Strict-mode violations, called once the attempt is over; empty when not strict."""
        if not self.strict:
            return []
        overused = [
            ReplayProblem(
                "cassette_overused",
                f"{self._label(last)} was called {self._answered[self._key(last)]} times but "
                f"recorded {recorded}; the last answer was repeated",
                last,
            )
            for last, recorded in self._overused()
        ]
        unused = self.unused()
        listed = [
            ReplayProblem("cassette_unused", f"{self._label(index)} was never called", index)
            for index in unused[:UNUSED_LISTED]
        ]
        rest = unused[UNUSED_LISTED:]
        if rest:
            ranges = self.unused_ranges(rest)
            shown = ", ".join(ranges[:RANGES_SHOWN])
            more = (
                f" and {len(ranges) - RANGES_SHOWN:,} more ranges"
                if len(ranges) > RANGES_SHOWN
                else ""
            )
            message = (
                f"{len(rest):,} more of the {self.size:,} recorded entries were "
                f"never called ({len(unused):,} unused in all): {shown}{more}"
            )
            listed.append(ReplayProblem("cassette_unused", message, rest[0]))
        return [*self._out_of_order, *overused, *listed]

    def unused_ranges(self, indexes: Sequence[int] | None = None) -> list[str]:
        """`indexes` (by default every unused entry) as runs of consecutive entries, each
        `cassettes/t.jsonl:12-40` (or `interaction 12-40` when the file is not known)."""
        indexes = self.unused() if indexes is None else indexes
        runs: list[tuple[int, int]] = []
        for index in indexes:
            if runs and runs[-1][1] == index - 1:
                runs[-1] = (runs[-1][0], index)
            else:
                runs.append((index, index))
        return [self._span(first, last) for first, last in runs]

    def _span(self, first: int, last: int) -> str:
        if first == last:
            return self._where(first)
        if self._lines is None:
            return f"{self._where(first)}-{last + 1}"
        return f"{self._where(first)}-{self._line(last)}"

    def _label(self, index: int) -> str:
        tool, canonical = self._key(index)
        return f"{self._where(index)}: {tool} {_short(canonical)}"

    def _where(self, index: int) -> str:
        """`cassettes/t1.jsonl:3` when the file is known, else the entry's position."""
        if self._lines is None:
            where = f"interaction {index + 1}"
            return f"{self._source} {where}" if self._source else where
        line = self._line(index)
        return f"{self._source}:{line}" if self._source else f"line {line}"

    def _miss(self, tool: str, args: dict[str, Any], canonical: bytes) -> CassetteMissError:
        nearest = self._nearest(tool, canonical)
        requested = _short(canonical, VALUE_CHARS * 2)
        prefix = f"{self._source}: " if self._source else ""
        text = [f"{prefix}no recorded interaction for {tool} {requested}"]
        details: list[dict[str, Any]] = []
        if nearest:
            text.append("closest recorded interactions:")
        for rank, index in enumerate(nearest, start=1):
            entry = self._entry(index)
            diff = diff_call(entry.tool, entry.args, tool, args)
            text.append(f"  {rank}. {self._label(index)}")
            text.extend(f"       {line}" for line in _bounded(diff))
            details.append(
                {
                    "index": index,
                    "where": self._where(index),
                    "tool": entry.tool,
                    "args": entry.args,
                    "diff": diff,
                }
            )
        if not self.size:
            text.append("the cassette is empty")
        text.append(f"{RECORD_HINT} (or --mode auto to add missing calls)")
        return CassetteMissError(
            "\n".join(text), requested={"tool": tool, "args": args}, nearest=details
        )

    def _nearest(self, tool: str, canonical: bytes) -> list[int]:
        """Up to NEAREST_SHOWN distinct recorded calls, same tool first, most similar first."""
        # seq2 is the side SequenceMatcher indexes; set it once to the requested call.
        matcher = difflib.SequenceMatcher(None, b"", canonical[:_RATIO_BYTES])

        def similarity(first: tuple[int, _Key], exact: bool) -> tuple[bool, float]:
            matcher.set_seq1(first[1][1][:_RATIO_BYTES])
            ratio = matcher.ratio() if exact else matcher.quick_ratio()
            return first[1][0] == tool, ratio

        # nlargest is sorted(..., reverse=True)[:n] (ties stay in file order) without holding
        # every key at once.
        shortlist = heapq.nlargest(_REFINED, self._first_keys(), key=lambda f: similarity(f, False))
        best = sorted(shortlist, key=lambda f: similarity(f, True), reverse=True)[:NEAREST_SHOWN]
        return [index for index, _ in best]


def diff_call(expected_tool: str, expected_args: Any, got_tool: str, got_args: Any) -> list[str]:
    """How a call differs from a recorded one: `args.city: expected "Paris", got "paris"`."""
    lines = []
    if expected_tool != got_tool:
        lines.append(f"tool: expected {_show(expected_tool)}, got {_show(got_tool)}")
    return lines + diff_values(expected_args, got_args, "args")


def diff_values(expected: Any, got: Any, path: str) -> list[str]:
    """Paths where `got` adds, lacks or changes a value of `expected`, compared canonically."""
    if isinstance(expected, dict) and isinstance(got, dict):
        lines: list[str] = []
        for key in sorted(expected.keys() | got.keys()):
            sub = _join(path, key)
            if key not in got:
                lines.append(f"{sub}: missing, expected {_show(expected[key])}")
            elif key not in expected:
                lines.append(f"{sub}: not recorded, got {_show(got[key])}")
            else:
                lines.extend(diff_values(expected[key], got[key], sub))
        return lines
    if isinstance(expected, list) and isinstance(got, list):
        lines = []
        for index in range(max(len(expected), len(got))):
            sub = f"{path}[{index}]"
            if index >= len(got):
                lines.append(f"{sub}: missing, expected {_show(expected[index])}")
            elif index >= len(expected):
                lines.append(f"{sub}: not recorded, got {_show(got[index])}")
            else:
                lines.extend(diff_values(expected[index], got[index], sub))
        return lines
    if canonical_args(expected) == canonical_args(got):
        return []
    return [f"{path}: expected {_show(expected)}, got {_show(got)}"]


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if key.isidentifier() else f"{path}[{_show(key)}]"


def _show(value: Any) -> str:
    return _short(_encoder.encode(value))


def _short(encoded: bytes, limit: int = VALUE_CHARS) -> str:
    """The text whole, or cut where a word or a JSON item ends, never inside one; redacted
    first (harness.excerpts), so no cut leaves part of a secret."""
    text = redact(encoded[: (limit + WINDOW_CHARS) * 4].decode("utf-8", errors="replace"))
    if len(text) <= limit:
        return text
    head = text[: limit - 3]
    cut = max(head.rfind(mark) for mark in (" ", ",", ":"))
    return (head[: cut + 1] if cut >= limit // 2 else head) + "..."


def _bounded(diff: list[str]) -> list[str]:
    if len(diff) <= DIFF_LINES_SHOWN:
        return diff
    hidden = len(diff) - DIFF_LINES_SHOWN + 1
    return [*diff[: DIFF_LINES_SHOWN - 1], f"... and {hidden} more differences"]
