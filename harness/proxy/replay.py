"""Replay of model calls: which recorded entry answers a request, and why none does.

A request takes the next unused entry of its API when that entry is the same request; else any
unused entry with the same digest (logged as out of order); else it is a miss. Identical
repeated calls consume their entries in order, and a call past them is a miss too: replay
never answers twice from one entry. A miss names the nearest recorded request and the first
JSON paths where they differ.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

import msgspec

from harness.cassette.format import RECORD_HINT
from harness.cassette.gateway import RecordedModel
from harness.cassette.matching import canonical_args, diff_values
from harness.proxy.normalize import RequestNormalizer, request_digest

PATHS_SHOWN = 5
_RATIO_BYTES = 4000


class ModelRequest(msgspec.Struct, frozen=True):
    """An agent's request as matching sees it."""

    api: str
    method: str
    path: str
    stored: Any  # normalised and redacted: what a recording of it keeps
    key: Any  # `stored` without the ignored paths
    digest: str


class Taken(msgspec.Struct, frozen=True):
    recorded: RecordedModel
    out_of_order: bool


class ModelCassette:
    """The model entries of one attempt's case, consumed as the agent calls."""

    def __init__(self, recorded: Sequence[RecordedModel], normalizer: RequestNormalizer) -> None:
        self.recorded = list(recorded)
        self._keys = [normalizer.key(r.entry.api, r.entry.request) for r in self.recorded]
        self._digests = [
            request_digest(r.entry.method, r.entry.path, key)
            for r, key in zip(self.recorded, self._keys, strict=True)
        ]
        self._used = [False] * len(self.recorded)

    def take(self, request: ModelRequest) -> Taken | None:
        """The entry answering `request` (now used), or None on a miss."""
        mine = [i for i, r in enumerate(self.recorded) if r.entry.api == request.api]
        unused = [i for i in mine if not self._used[i]]
        if not unused:
            return None
        if self._digests[unused[0]] == request.digest:
            return self._use(unused[0], out_of_order=False)
        for index in unused[1:]:
            if self._digests[index] == request.digest:
                return self._use(index, out_of_order=True)
        return None

    def _use(self, index: int, *, out_of_order: bool) -> Taken:
        self._used[index] = True
        return Taken(self.recorded[index], out_of_order)

    def unused(self) -> list[RecordedModel]:
        return [r for r, used in zip(self.recorded, self._used, strict=True) if not used]

    def miss(self, request: ModelRequest, source: str | None) -> tuple[str, dict[str, Any]]:
        """The failure message and details of a miss: the nearest entry, the differing paths."""
        where = f" in {source}" if source else ""
        text = [
            f"no recorded model call matches {request.method} {request.path} ({request.api}){where}"
        ]
        details: dict[str, Any] = {
            "api": request.api,
            "method": request.method,
            "path": request.path,
        }
        nearest = self._nearest(request)
        if nearest is None:
            text.append(
                "the cassette has no model call for this API"
                if not any(r.entry.api == request.api for r in self.recorded)
                else "every recorded call of this API was already used"
            )
        else:
            recorded = self.recorded[nearest]
            differences = request_differences(recorded, self._keys[nearest], request)
            used = " (already used)" if self._used[nearest] else ""
            text.append(f"nearest recorded request: {recorded.where}{used}")
            if not differences:
                text.append(
                    "  the same request, but every recording of it was already used: the agent "
                    "makes this call more often than when it was recorded"
                )
            text.extend(f"  {line}" for line in differences[:PATHS_SHOWN])
            if len(differences) > PATHS_SHOWN:
                text.append(f"  ... and {len(differences) - PATHS_SHOWN} more differences")
            details["nearest"] = recorded.where
            details["paths"] = [line.split(": ", 1)[0] for line in differences]
            details["differences"] = differences[:PATHS_SHOWN]
        text.append(f"{RECORD_HINT} (or --mode auto to add missing calls)")
        return "\n".join(text), details

    def _nearest(self, request: ModelRequest) -> int | None:
        """The most similar entry of the API: same path first, unused first."""
        candidates = [i for i, r in enumerate(self.recorded) if r.entry.api == request.api]
        if len(candidates) < 2:
            return candidates[0] if candidates else None  # nothing to rank
        wanted = canonical_args(request.key)[:_RATIO_BYTES]
        matcher = difflib.SequenceMatcher(None, b"", wanted)

        def rank(index: int) -> tuple[bool, bool, float]:
            entry = self.recorded[index].entry
            matcher.set_seq1(canonical_args(self._keys[index])[:_RATIO_BYTES])
            same_route = (entry.method, entry.path) == (request.method, request.path)
            return same_route, not self._used[index], matcher.ratio()

        return max(candidates, key=rank)


def request_differences(recorded: RecordedModel, key: Any, request: ModelRequest) -> list[str]:
    """`$.messages[1].content: expected "...", got "..."` lines, route first."""
    entry = recorded.entry
    lines = []
    if (entry.method, entry.path) != (request.method, request.path):
        lines.append(
            f"$route: expected {entry.method} {entry.path}, got {request.method} {request.path}"
        )
    return lines + diff_values(key, request.key, "$")
