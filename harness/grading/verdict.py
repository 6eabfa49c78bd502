"""What one grader says about one attempt: a verdict with its evidence.

Every grader, built in or plugged in, answers with a `Verdict`: a status, an optional score in
[0, 1], a one-line `evidence` a person can act on, and `expected`/`observed` when they exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import msgspec

from harness.excerpts import WINDOW_CHARS, cut, redact
from harness.results import Verdict, VerdictStatus

__all__ = ["ERRORED", "FAILED", "PASSED", "STATUSES", "UNCERTAIN", "GraderError", "Verdict"]

if TYPE_CHECKING:
    from harness.config.schema import GraderSpec

PASSED: Final = "pass"
FAILED: Final = "fail"
# The grader could not decide (a judge's split vote). Never counted as a pass.
UNCERTAIN: Final = "uncertain"
# The grader could not run (a judge command crashed, a workspace is gone): infrastructure.
ERRORED: Final = "error"
STATUSES: tuple[VerdictStatus, ...] = (PASSED, FAILED, UNCERTAIN, ERRORED)


class GraderError(Exception):
    """A grader could not run: infrastructure, not a verdict on the agent (exit 3)."""


def tag_of(spec: GraderSpec) -> str:
    """The `type` a spec was written with."""
    tag = type(spec).__struct_config__.tag
    return str(tag) if tag is not None else type(spec).__name__


def verdict(
    spec: GraderSpec,
    passed: bool,
    evidence: str,
    *,
    score: float | None = None,
    expected: Any = None,
    observed: Any = None,
    details: dict[str, Any] | None = None,
) -> Verdict:
    """A pass or fail verdict for `spec`, carrying its name and weight."""
    return Verdict(
        grader=tag_of(spec),
        status=PASSED if passed else FAILED,
        evidence=evidence,
        name=spec.name,
        score=score,
        weight=spec.weight,
        expected=expected,
        observed=observed,
        details=details,
    )


def with_status(spec: GraderSpec, status: VerdictStatus, evidence: str, **fields: Any) -> Verdict:
    """A verdict with any status (uncertain, error) for `spec`."""
    return Verdict(
        grader=tag_of(spec),
        status=status,
        evidence=evidence,
        name=spec.name,
        weight=spec.weight,
        **fields,
    )


def shorten(value: Any, limit: int = 120) -> str:
    """A value as evidence shows it: JSON for non-strings, redacted, then cut at `limit`
    characters (harness.excerpts: a cut must never leave part of a secret)."""
    text = (
        _json(value) if not isinstance(value, str) else repr(redact(value[: limit + WINDOW_CHARS]))
    )
    return cut(text, limit)


def _json(value: Any) -> str:
    try:
        return msgspec.json.encode(value).decode()
    except (TypeError, msgspec.EncodeError):
        return repr(value)
