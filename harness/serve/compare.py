"""Two runs of a suite side by side, per (case, model): regressed, fixed, still failing, still
passing, new and removed; the deltas of pass rate, score, cost and wall time; and the paired
test the gate uses (the exact sign test on trials that flipped, McNemar's exact test).

A cell "passes" when every counted trial passed. Trials pair by trial number.
"""

from __future__ import annotations

from typing import Any

from harness.gate.paired import sign_test_p
from harness.serve.tally import Cell, Group, RunTally

CATEGORIES = ("regressed", "fixed", "still_failing", "new", "removed", "still_passing")
DEFAULT_ALPHA = 0.05


def _ok(cell: Cell) -> bool:
    return cell.n > 0 and cell.c == cell.n


def category(base: Cell | None, head: Cell | None) -> str:
    if base is None:
        return "new"
    if head is None:
        return "removed"
    if _ok(base):
        return "still_passing" if _ok(head) else "regressed"
    return "fixed" if _ok(head) else "still_failing"


def _mean(total: float, count: int) -> float | None:
    return total / count if count else None


def _delta(base: float | None, head: float | None) -> float | None:
    return None if base is None or head is None else head - base


def _side(cell: Cell | None) -> dict[str, Any] | None:
    if cell is None:
        return None
    return {
        "n": cell.n,
        "c": cell.c,
        "pass_rate": cell.c / cell.n if cell.n else None,
        "mean_score": _mean(cell.score, cell.scored),
        "mean_wall_ms": _mean(cell.wall_ms, cell.attempts),
        "cost_usd": cell.cost_usd if cell.costed else None,
        "sample": cell.sample,
        "reasons": dict(cell.reasons.most_common(3)),
    }


def _flips(base: Cell, head: Cell) -> tuple[int, int, int]:
    """(pairs, worse, better): trials counted in both runs, passed before and fail now, and the
    reverse."""
    both = base.counted_mask & head.counted_mask
    worse = base.passed_mask & ~head.passed_mask & both
    better = head.passed_mask & ~base.passed_mask & both
    return both.bit_count(), worse.bit_count(), better.bit_count()


def unit_view(unit: Group, base: Cell | None, head: Cell | None) -> dict[str, Any]:
    b, h = _side(base), _side(head)

    def delta(name: str) -> float | None:
        return _delta(b[name] if b else None, h[name] if h else None)

    return {
        "case_id": unit[0],
        "model": unit[1],
        "category": category(base, head),
        "base": b,
        "head": h,
        "delta": {
            name: delta(name) for name in ("pass_rate", "mean_score", "mean_wall_ms", "cost_usd")
        },
    }


def compare(
    base: RunTally, head: RunTally, *, alpha: float = DEFAULT_ALPHA, min_drop: float = 0.0
) -> dict[str, Any]:
    """Every unit of either run with its category, the counts by category, the totals' deltas
    and the paired test over all units present in both."""
    units = sorted(set(base.cells) | set(head.cells), key=lambda u: (u[0], u[1] or ""))
    rows = [unit_view(unit, base.cells.get(unit), head.cells.get(unit)) for unit in units]
    pairs = worse = better = 0
    for unit in units:
        b, h = base.cells.get(unit), head.cells.get(unit)
        if b is not None and h is not None:
            n, w, bt = _flips(b, h)
            pairs, worse, better = pairs + n, worse + w, better + bt
    p_value = sign_test_p(worse, better)
    drop = (worse - better) / pairs if pairs else 0.0
    significant = p_value < alpha and drop > min_drop
    counts = dict.fromkeys(CATEGORIES, 0)
    for row in rows:
        counts[row["category"]] += 1
    return {
        "counts": counts,
        "units": rows,
        "totals": {
            "pass_rate": {"base": base.pass_rate, "head": head.pass_rate},
            "cost_usd": {
                "base": base.cost_usd if base.costed else None,
                "head": head.cost_usd if head.costed else None,
            },
            "mean_wall_ms": {
                "base": _mean(base.wall_ms, base.attempts),
                "head": _mean(head.wall_ms, head.attempts),
            },
        },
        "paired_test": {
            "pairs": pairs,
            "worse": worse,
            "better": better,
            "drop": drop,
            "p_value": p_value,
            "alpha": alpha,
            "min_drop": min_drop,
            "verdict": "regressed" if significant else "no_significant_drop",
        },
    }
