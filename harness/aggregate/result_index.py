"""Where each result of a run sits in results.jsonl, so the end of the run reads the results
back in the order each report wants, one at a time, instead of holding every one of them.

The plan is a grid: (case, model) groups x trials. A result that fits its slot (the first with
that slot's attempt id) is one offset in an array: 8 bytes an attempt. What fits no slot (a
second result for an attempt, an id never planned: bugs, or hand-made plans) is kept aside with
its sort keys and merged in. The index also answers `check_complete` the same way, one seen
flag a slot, so a run never builds a set of 10,000 attempt ids.
"""

from __future__ import annotations

import heapq
import itertools
import os
from array import array
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from harness.aggregate.completeness import Completeness
from harness.plan.build import attempt_id
from harness.results import INFRA_ERROR, AttemptResult

if TYPE_CHECKING:
    from harness.aggregate.completeness import Completeness
    from harness.attempt.spec import AttemptPlan
    from harness.config.schema import Case
    from harness.plan.build import Plan

_decoder = msgspec.json.Decoder(AttemptResult)
_NONE = -1
Group = tuple[str, str | None]
Triple = tuple[str, str | None, int | None]
_Keyed = tuple[tuple[str, str], int]  # (junit sort key, offset)


class _Aside(msgspec.Struct, frozen=True):  # a Struct: cheaper to define than a dataclass
    """A result that fits no slot, with what its position in each order depends on."""

    case_id: str
    model: str | None
    trial: int | None
    key: str  # attempt_id or case_id
    offset: int


class ResultIndex:
    """Results of one run by plan slot; `add` each result with its offset as it is appended."""

    def __init__(self, plan: Plan, path: Path | None = None) -> None:

        self._attempt_id = attempt_id
        self.path = path
        self.sweep = plan.sweep
        self.runs = plan.runs if plan.sweep else 1
        self._groups: dict[Group, int] = {}
        self._firsts: list[AttemptPlan] = []  # each group's first attempt: its case variant
        for attempt in plan.attempts:
            if (attempt.case.id, attempt.model) not in self._groups:
                self._groups[(attempt.case.id, attempt.model)] = len(self._groups)
                self._firsts.append(attempt)
        # A `/` in a case id or model name can make two attempts' ids equal ("a/m" + "1" and
        # "a" + "m/1"): such ids are tracked by id, as a set of ids would.
        slashes = any("/" in case_id or "/" in (model or "") for case_id, model in self._groups)
        self._colliding = _repeated(a.attempt_id for a in plan.attempts) if slashes else set()
        size = len(self._groups) * self.runs
        self._offsets = array("q", [_NONE]) * size
        self._planned = bytearray(size)
        # Planned ids outside the grid's rule or shared by two attempts: a seen flag past the grid.
        self._odd: dict[str, int] = {}
        self._odd_attempts: dict[str, AttemptPlan] = {}
        for attempt in plan.attempts:
            slot = self._plan_slot(attempt)
            if slot < size:
                self._planned[slot] = 1
            else:
                self._odd_attempts[attempt.attempt_id] = attempt
        self._seen = bytearray(size + len(self._odd))
        self._aside: list[_Aside] = []
        self.final = self.lost = 0
        self.duplicated: list[str] = []
        self.unplanned: list[str] = []

    def _slot(self, case_id: str, model: str | None, trial: int | None) -> int:
        group = self._groups.get((case_id, model))
        if group is None:
            return _NONE
        if not self.sweep:
            return group if trial is None else _NONE
        if trial is None or not 1 <= trial <= self.runs:
            return _NONE
        return group * self.runs + trial - 1

    def _plan_slot(self, attempt: AttemptPlan) -> int:
        case_id, model, trial = attempt.case.id, attempt.model, attempt.trial
        slot = self._slot(case_id, model, trial)
        fits = attempt.attempt_id == self._attempt_id(case_id, model, trial)
        if slot != _NONE and fits and attempt.attempt_id not in self._colliding:
            return slot
        return self._odd.setdefault(attempt.attempt_id, len(self._offsets) + len(self._odd))

    def add(self, result: AttemptResult, offset: int) -> None:
        """Record `result`, whose line starts at byte `offset` of results.jsonl."""
        key = result.attempt_id or result.case_id
        slot = self._slot(result.case_id, result.model, result.trial)
        fits = slot != _NONE and key == self._attempt_id(result.case_id, result.model, result.trial)
        planned = self._planned_slot(key, slot if fits else _NONE)
        self.final += 1
        self.lost += result.outcome == INFRA_ERROR
        if planned == _NONE:
            self.unplanned.append(key)
        elif self._seen[planned]:
            self.duplicated.append(key)
        else:
            self._seen[planned] = 1
        if fits and self._offsets[slot] == _NONE:
            self._offsets[slot] = offset
        else:
            aside = _Aside(result.case_id, result.model, result.trial, key, offset)
            self._aside.append(aside)

    def _planned_slot(self, key: str, slot: int) -> int:
        """The seen-flag index of planned id `key`; `slot` is where its fields point, if its
        id follows from them (the usual case: no search)."""
        return slot if slot != _NONE and self._planned[slot] else self._find_planned(key)

    def planned_attempt(
        self, key: str, case_id: str, model: str | None, trial: int | None
    ) -> tuple[Case, str | None, int | None] | None:
        """The planned attempt whose id is `key` as (case, model, trial), or None if `key` was
        never planned; case_id, model and trial (a result's) are where to look first."""
        slot = self._slot(case_id, model, trial)
        fits = slot != _NONE and key == self._attempt_id(case_id, model, trial)
        planned = self._planned_slot(key, slot if fits else _NONE)
        if planned == _NONE:
            return None
        if planned >= len(self._offsets):
            odd = self._odd_attempts[key]
            return odd.case, odd.model, odd.trial
        group, index = divmod(planned, self.runs)
        first = self._firsts[group]
        return first.case, first.model, index + 1 if self.sweep else None

    def _find_planned(self, key: str) -> int:
        """The seen-flag index of a planned id that came with other fields (rare: a scan)."""
        if key in self._odd:
            return self._odd[key]
        for (case_id, model), group in self._groups.items():
            trials: Iterable[int | None] = range(1, self.runs + 1) if self.sweep else (None,)
            prefix = self._attempt_id(case_id, model, None)
            if not key.startswith(prefix):
                continue
            for index, trial in enumerate(trials):
                slot = group * self.runs + index
                if self._planned[slot] and key == self._attempt_id(case_id, model, trial):
                    return slot
        return _NONE

    def completeness(self, plan: Plan) -> Completeness:
        """check_complete(plan, results) for the results added."""

        missing = tuple(a.attempt_id for a in plan.attempts if not self._seen[self._plan_slot(a)])
        return Completeness(
            planned=len(plan.attempts),
            final=self.final,
            missing=missing,
            duplicated=tuple(self.duplicated),
            unplanned=tuple(self.unplanned),
            lost=self.lost,
        )

    # Orders -----------------------------------------------------------------------------------

    def summary_offsets(self) -> Iterator[int]:
        """Offsets in summary.json's row order: (case, model or "", trial or 0), then as
        appended (a stable sort, as `sorted` over the list was)."""
        groups = sorted(self._groups.items(), key=lambda item: (item[0][0], item[0][1] or ""))
        regular = (
            ((case_id, model or "", index + 1 if self.sweep else 0), offset)
            for (case_id, model), group in groups
            for index in range(self.runs)
            if (offset := self._offsets[group * self.runs + index]) != _NONE
        )
        aside = sorted(((a.case_id, a.model or "", a.trial or 0), a.offset) for a in self._aside)
        for _, offset in heapq.merge(regular, aside):
            yield offset

    def junit_offsets(self) -> Iterator[int]:
        """Offsets in junit.xml's order: (model or "", attempt id), then as appended."""
        by_model: dict[str, list[tuple[str, Group, int]]] = {}
        for (case_id, model), group in self._groups.items():
            # Every id of the group starts with this: `case[/model]`, then `/<trial>` in a sweep.
            prefix = self._attempt_id(case_id, model, None) + ("/" if self.sweep else "")
            by_model.setdefault(model or "", []).append((prefix, (case_id, model), group))
        trials: list[int | None] = [None]
        if self.sweep:  # ids sort as text: trial 10 comes before trial 2
            trials = sorted(range(1, self.runs + 1), key=str)
        streams = []
        for model_key in sorted(by_model):
            groups = sorted(by_model[model_key])
            ids = [self._group_ids(model_key, entry, trials) for entry in groups]
            # Two groups' ids interleave only when one's prefix starts the other's (case ids
            # with `/`): then merge them; else the groups follow each other in prefix order.
            nested = self.sweep and any(
                later[0].startswith(earlier[0]) for earlier, later in itertools.pairwise(groups)
            )
            streams.append(heapq.merge(*ids) if nested else _chain(ids))
        aside = sorted(((a.model or "", a.key), a.offset) for a in self._aside)
        for _, offset in heapq.merge(_chain(streams), aside):
            yield offset

    def _group_ids(
        self, model_key: str, entry: tuple[str, Group, int], trials: list[int | None]
    ) -> Iterator[_Keyed]:
        _, (case_id, model), group = entry
        for trial in trials:
            offset = self._offsets[group * self.runs + (trial - 1 if trial is not None else 0)]
            if offset != _NONE:
                yield (model_key, self._attempt_id(case_id, model, trial)), offset

    def last_offsets(self) -> dict[Triple, int]:
        """(case, model, trial) -> the offset of the last result with it, for each triple more
        than one result has (a row of summary.json shows the last one's re-run facts)."""
        counts: dict[Triple, list[int]] = {}
        for aside in self._aside:
            counts.setdefault((aside.case_id, aside.model, aside.trial), []).append(aside.offset)
        last: dict[Triple, int] = {}
        for triple, offsets in counts.items():
            slot = self._slot(*triple)
            if slot != _NONE and self._offsets[slot] != _NONE:
                offsets.append(self._offsets[slot])
            if len(offsets) > 1:
                last[triple] = max(offsets)
        return last

    def read(self, offsets: Iterable[int]) -> Iterator[AttemptResult]:
        """The results at `offsets`, read one at a time from results.jsonl."""
        if self.path is None:
            raise ValueError("this index has no results file")
        fd = os.open(self.path, os.O_RDONLY)
        try:
            for offset in offsets:
                yield _decoder.decode(_line_at(fd, offset))
        finally:
            os.close(fd)

    def read_one(self, offset: int) -> AttemptResult:
        (result,) = list(self.read((offset,)))
        return result


def _repeated(ids: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    repeated = set()
    for key in ids:
        if key in seen:
            repeated.add(key)
        seen.add(key)
    return repeated


def _chain(streams: Iterable[Iterable[_Keyed]]) -> Iterator[_Keyed]:
    for stream in streams:
        yield from stream


def _line_at(fd: int, offset: int) -> bytes:
    chunk = os.pread(fd, 4096, offset)
    end = chunk.find(b"\n")
    while end < 0:
        more = os.pread(fd, 1 << 16, offset + len(chunk))
        if not more:
            return chunk
        chunk += more
        end = chunk.find(b"\n")
    return chunk[:end]


def check_complete(plan: Plan, results: Iterable[AttemptResult]) -> Completeness:
    """Reconcile the results with the plan: each planned id exactly once, nothing else.

    A run does the same as its results arrive (ResultIndex), without a set of every id."""
    index = ResultIndex(plan)
    for result in results:
        index.add(result, offset=0)  # the order of results is not asked for here
    return index.completeness(plan)
