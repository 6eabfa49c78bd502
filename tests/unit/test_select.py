"""harness.plan.select: --case ids and globs, --tag key=v1,v2 (AND across flags, OR within)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config.schema import Suite
from harness.errors import UsageError
from harness.plan.select import parse_tags, select_cases
from tests.support.suites import suite_from


@pytest.fixture
def suite(tmp_path: Path) -> Suite:
    return suite_from(
        tmp_path,
        [
            {"id": "t1", "input": 1, "tags": {"cost": "free", "area": "billing"}},
            {"id": "t2", "input": 2, "tags": {"cost": "low", "area": "billing"}},
            {"id": "t7", "input": 7, "tags": {"cost": "high", "area": "billing"}},
            {"id": "x[1]", "input": 8, "tags": {"cost": "free", "area": "auth"}},
        ],
    )


def chosen(suite: Suite, cases: tuple[str, ...] = (), tags: tuple[str, ...] = ()) -> list[str]:
    return [case.id for case in select_cases(suite, cases, tags).cases]


def test_case_ids_and_globs(suite: Suite) -> None:
    assert chosen(suite, ("t1", "t7")) == ["t1", "t7"]
    assert chosen(suite, ("t*",)) == ["t1", "t2", "t7"]
    assert chosen(suite, ("t[12]",)) == ["t1", "t2"]
    assert chosen(suite, ("x[1]",)) == ["x[1]"]  # an id with glob characters matches itself
    with pytest.raises(UsageError, match=r"unknown case id or pattern nope, z\*; known: t1"):
        chosen(suite, ("t1", "nope", "z*"))


def test_tags_and_across_or_within(suite: Suite) -> None:
    assert chosen(suite, tags=("cost=free,low",)) == ["t1", "t2", "x[1]"]
    assert chosen(suite, tags=("cost=free,low", "area=billing")) == ["t1", "t2"]
    assert chosen(suite, ("t*",), ("cost=high",)) == ["t7"]
    with pytest.raises(UsageError, match="values of 'cost' in the suite: free, high, low"):
        chosen(suite, tags=("cost=pricey",))
    with pytest.raises(UsageError, match="no case has a tag 'owner'"):
        chosen(suite, tags=("owner=me",))


@pytest.mark.parametrize("bad", ["cost", "=free", "cost=", "cost=a,,b"])
def test_bad_tag_flags(bad: str) -> None:
    with pytest.raises(UsageError, match="expected key=value"):
        parse_tags([bad])
