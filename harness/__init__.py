"""harness: test tool-using AI agents the way CI tests code.

LAYOUT
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness._version import __version__

if TYPE_CHECKING:
    from harness.api import RunOptions, RunReport, run_suite, run_sync
    from harness.plan.load import load_suite

__all__ = ["RunOptions", "RunReport", "__version__", "load_suite", "run_suite", "run_sync"]

_LAZY = {
    "load_suite": "harness.plan.load",
    "RunOptions": "harness.api",
    "RunReport": "harness.api",
    "run_suite": "harness.api",
    "run_sync": "harness.api",
}


def __getattr__(name: str) -> Any:
    # Lazy, so `harness --help` does not pay for anyio, yaml and msgspec.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
