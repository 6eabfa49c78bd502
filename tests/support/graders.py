"""Helpers of the grader tests: contexts to grade, and grader types registered by a test and gone
after it (the registry's tables are swapped for copies while the test runs; what a process
registers stays for its whole life)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.config.schema import GraderSpec
from harness.grading import catalogue, registry
from harness.grading.context import GradingContext, ToolCall
from harness.grading.engine import (
    run_grader,
)
from harness.grading.verdict import Verdict
from harness.results import VerdictStatus


@contextlib.contextmanager
def registered_types_kept() -> Iterator[None]:
    """Types registered inside the block are unregistered when it ends."""
    catalogue.type_names()  # the built-ins and the installed plugins first, as a run has them
    tables = registry.REGISTERED
    copies = registry.Registered(dict(tables.by_name), dict(tables.by_class), set(tables.lenient))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(registry, "REGISTERED", copies)
        yield


def calls_context(*calls: tuple[str, Any], meta: dict[str, Any] | None = None) -> GradingContext:
    """A grading context of tool calls (name, args) that each succeeded, and the trace's meta."""
    records = tuple(
        ToolCall(name, args, i, result={"ok": 1}) for i, (name, args) in enumerate(calls)
    )
    return GradingContext(output="x", calls=records, meta=meta or {})


def verdict_with(
    status: VerdictStatus, weight: float = 1.0, score: float | None = None, name: str = "g"
) -> Verdict:
    """A verdict of grader `x` named `name`, whose evidence is "<name> <status>"."""
    return Verdict(
        grader="x",
        status=status,
        evidence=f"{name} {status}",
        name=name,
        weight=weight,
        score=score,
    )


def sample_workspace(root: Path) -> Path:
    """A workspace folder: src/app.py (def add) and README.md ("Hello World")."""
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("def add(a, b):\n    return a + b\n")
    (root / "README.md").write_text("Hello World\n")
    return root


async def grade_in(spec: GraderSpec, workspace: Path | None, **fields: Any) -> Verdict:
    """`spec`'s verdict on the output "x" of an attempt that ran in `workspace`."""
    return await run_grader(spec, GradingContext(output="x", workspace=workspace, **fields))
