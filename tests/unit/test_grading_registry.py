"""The grader registry (harness.grading.registry): a type name taken by another spec is refused."""

from __future__ import annotations

import pytest

from harness.errors import UsageError
from harness.grading import registry
from harness.grading.output import JsonMatch, MustContain, grade_must_contain
from tests.support.graders import registered_types_kept


def test_a_type_taken_twice_is_refused() -> None:
    clash = registry.GraderType("must_contain", JsonMatch, grade_must_contain, "x")
    with registered_types_kept():
        with pytest.raises(UsageError, match="tag='must_contain'"):
            registry.register(clash)
        registry.register(registry.GraderType("must_contain", MustContain, grade_must_contain, "x"))
