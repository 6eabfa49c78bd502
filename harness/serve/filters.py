"""The filters of the run page and of `/outcomes` and `/matrix`, from query parameters.

One attempt matches when every filter given holds: its status or outcome, its model, a tag of
its case, a grader that did not pass it, its failure reason, its case id (a substring), and
the full-text search (the keys `search` found). The matrix shows the (case, model) cells that
have at least one matching attempt, with the statistics of all their attempts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from harness.serve.lines import Row

STATUSES = ("pass", "fail", "error", "passed", "failed", "budget_exceeded", "infra_error")
FILTER_NAMES = ("status", "model", "tag", "grader", "reason", "case", "q")


class FilterError(ValueError):
    """A filter value that cannot be used; `field` names the query parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    model: str | None = None
    tag: tuple[str, str] | None = None
    grader: str | None = None
    reason: str | None = None
    case: str | None = None
    q: str | None = None

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> Filters:
        values = {name: (params.get(name) or "").strip() or None for name in FILTER_NAMES}
        status = values["status"]
        if status is not None and status not in STATUSES:
            raise FilterError("status", f"status must be one of {', '.join(STATUSES)}")
        tag = None
        if values["tag"] is not None:
            key, sep, value = values["tag"].partition("=")
            if not sep or not key:
                raise FilterError("tag", "tag must be key=value")
            tag = (key, value)
        query = values["q"]
        if query is not None and len(query) > 200:
            raise FilterError("q", "q is at most 200 characters")
        return cls(
            status=status,
            model=values["model"],
            tag=tag,
            grader=values["grader"],
            reason=values["reason"],
            case=values["case"],
            q=query,
        )

    @property
    def active(self) -> bool:
        return any(getattr(self, name) is not None for name in FILTER_NAMES)

    def predicate(
        self, tags: Mapping[str, Mapping[str, str]], found: set[str] | None
    ) -> Callable[[Row], bool]:
        """A test of one attempt. `found` holds the keys the full-text search matched (None
        when there is no `q`)."""

        def matches(row: Row) -> bool:
            if self.status is not None and self.status not in (row.status, row.outcome):
                return False
            if self.model is not None and row.model != self.model:
                return False
            if self.case is not None and self.case.lower() not in row.case_id.lower():
                return False
            if self.tag is not None and tags.get(row.case_id, {}).get(self.tag[0]) != self.tag[1]:
                return False
            if self.reason is not None and all(f.type != self.reason for f in row.failures):
                return False
            if self.grader is not None and not any(
                v.status != "pass" and self.grader in (v.grader, v.name) for v in row.verdicts
            ):
                return False
            return found is None or row.key in found

        return matches
