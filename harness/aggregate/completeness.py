"""Did every planned attempt end with exactly one final result? The check a run (and `harness
grade`) makes before a green exit."""

from __future__ import annotations

import msgspec


class Completeness(msgspec.Struct, frozen=True):
    """Did every planned (case, model, trial) end with exactly one final result?"""

    planned: int
    final: int
    missing: tuple[str, ...]  # planned, no result (a stopped run, or a bug)
    duplicated: tuple[str, ...]  # more than one final result
    unplanned: tuple[str, ...]  # a result for an attempt that was never planned
    lost: int  # final results that are infra_error: not trials, they shrink n

    @property
    def complete(self) -> bool:
        return not (self.missing or self.duplicated or self.unplanned)

    def sentence(self) -> str:
        if self.complete:
            text = f"every planned attempt ({self.planned}) has exactly one final result"
        else:
            problems = [
                f"{len(ids)} {what}"
                for ids, what in (
                    (self.missing, "without a result"),
                    (self.duplicated, "with more than one result"),
                    (self.unplanned, "results never planned"),
                )
                if ids
            ]
            text = f"{self.final} of {self.planned} planned attempts finished; " + ", ".join(
                problems
            )
        if self.lost:
            text += f"; {self.lost} of {self.final} trials lost to infrastructure errors"
        return text

    def to_json(self) -> dict[str, object]:
        shown = 50  # ids listed in summary.json; the counts are always whole
        return {
            "complete": self.complete,
            "planned": self.planned,
            "final_results": self.final,
            "missing": len(self.missing),
            "missing_ids": list(self.missing[:shown]),
            "duplicated_ids": list(self.duplicated[:shown]),
            "unplanned_ids": list(self.unplanned[:shown]),
            "trials_lost": self.lost,
            "message": self.sentence(),
        }
