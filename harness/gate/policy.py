"""What gates a run: the suite's `regression:` settings plus the quarantined case ids."""

from __future__ import annotations

from typing import Any

import msgspec

from harness.config.schema import Regression

Unit = tuple[str, str | None]  # (case id, model): what trials are repetitions of


def unit_order(unit: Unit) -> tuple[str, str]:
    """Units sorted by case id, then model (no model first)."""
    return (unit[0], unit[1] or "")


# The gate's records are msgspec Structs, not dataclasses: ~50x cheaper to define, and every
# run defines them before its first agent starts.
class Policy(msgspec.Struct, frozen=True):
    """What gates: the suite's `regression:` settings plus quarantined case ids."""

    regression: Regression = msgspec.field(default_factory=Regression)
    quarantine: frozenset[str] = frozenset()

    def case_pass_rate(self, case_id: str) -> float | None:
        return self.regression.case_pass_rates.get(case_id, self.regression.min_case_pass_rate)

    def snapshot(self) -> dict[str, Any]:
        """RunLedger's `policy_snapshot`, plus ours; `harness diff` gates with it later."""
        return {
            "thresholds": {"min_pass_rate": self.regression.min_pass_rate},
            "regression": msgspec.to_builtins(self.regression),
            "quarantine": sorted(self.quarantine),
        }

    @classmethod
    def from_snapshot(cls, snapshot: Any) -> Policy:
        if not isinstance(snapshot, dict):
            return cls()
        regression = msgspec.convert(snapshot.get("regression") or {}, Regression)
        return cls(regression=regression, quarantine=frozenset(snapshot.get("quarantine") or ()))
