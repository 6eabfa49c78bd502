"""Which cases run: `--case` ids or globs, and `--tag key=v1,v2` filters.

`--case` is repeatable and matches case ids with shell globs (`billing_*`, `t[0-9]`); a case
matching any of them runs. `--tag key=v1,v2` keeps the cases whose tag `key` is one of the
values (OR within a flag); several `--tag` flags must all hold (AND across flags). Both are
applied together. Selecting nothing is a usage error, never a silent green run.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence

import msgspec

from harness.config.schema import Case, Suite
from harness.errors import UsageError

_GLOB = re.compile(r"[*?\[]")


def parse_tags(values: Sequence[str]) -> list[tuple[str, frozenset[str]]]:
    """`["cost=free,low", "area=billing"]` -> [("cost", {free, low}), ("area", {billing})]."""
    filters = []
    for value in values:
        key, sep, rest = value.partition("=")
        wanted = frozenset(item.strip() for item in rest.split(","))
        if not sep or not key.strip() or "" in wanted:
            raise UsageError(
                f"--tag {value!r}: expected key=value or key=v1,v2 (e.g. area=billing)"
            )
        filters.append((key.strip(), wanted))
    return filters


def select_cases(suite: Suite, patterns: Sequence[str] = (), tags: Sequence[str] = ()) -> Suite:
    """The suite with only the chosen cases, in suite order."""
    if not patterns and not tags:
        return suite
    cases: Sequence[Case] = suite.cases
    if patterns:
        cases = _by_pattern(cases, patterns)
    for key, wanted in parse_tags(tags):
        cases = [case for case in cases if case.tags.get(key) in wanted]
        if not cases:
            raise UsageError(_no_tag_match(suite, key, wanted))
    return msgspec.structs.replace(suite, cases=tuple(cases))


def _by_pattern(cases: Sequence[Case], patterns: Sequence[str]) -> list[Case]:
    ids = [case.id for case in cases]
    unmatched = [
        pattern for pattern in patterns if not any(_matches(case_id, pattern) for case_id in ids)
    ]
    if unmatched:
        known = ", ".join(sorted(ids))
        shown = ", ".join(unmatched)
        raise UsageError(f"--case: unknown case id or pattern {shown}; known: {known}")
    return [case for case in cases if any(_matches(case.id, p) for p in patterns)]


def _matches(case_id: str, pattern: str) -> bool:
    # An id with glob characters in it still matches itself exactly.
    if case_id == pattern:
        return True
    return bool(_GLOB.search(pattern)) and fnmatch.fnmatchcase(case_id, pattern)


def _no_tag_match(suite: Suite, key: str, wanted: frozenset[str]) -> str:
    seen = sorted({case.tags[key] for case in suite.cases if key in case.tags})
    values = ", ".join(sorted(wanted))
    if not seen:
        return f"--tag {key}={values}: no case has a tag {key!r}"
    return (
        f"--tag {key}={values}: no selected case has one of these values; "
        f"values of {key!r} in the suite: {', '.join(seen)}"
    )
