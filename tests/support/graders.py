"""Grader types registered by a test and gone after it: the registry's tables are swapped for
copies while the test runs (what a process registers stays for its whole life)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from harness.grading import catalogue, registry


@contextlib.contextmanager
def registered_types_kept() -> Iterator[None]:
    """Types registered inside the block are unregistered when it ends."""
    catalogue.type_names()  # the built-ins and the installed plugins first, as a run has them
    tables = registry.REGISTERED
    copies = registry.Registered(dict(tables.by_name), dict(tables.by_class), set(tables.lenient))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(registry, "REGISTERED", copies)
        yield
