"""harness: test tool-using AI agents the way CI tests code.

Layout, one line a module's job:
  protocol/   the JSONL agent protocol: typed messages and the line codec
  config/     suite and case files -> Suite (validated, paths resolved, file:line errors)
  agent/      the agent process: spawn in its own group, talk, terminate the whole group;
              and the Python agent SDK (`from harness.agent import Agent, run`)
  cassette/   recorded interactions: format, matching, redaction, recording, the gateways
  tools/      live tool backends for record/auto/live: python, command, http, mcp
  grading/    assertions on the final output and the trace
  runner.py   one attempt, from spawn to AttemptResult (writes no files)
  pool.py     attempts over a bounded worker pool, results streamed as they finish
  storage/    the run directory: atomic writes, appended result lines
  reports/    summary.json, junit.xml, the console
  cli/        the typer app: the only place an error becomes an exit code
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.config.loader import load_suite
    from harness.run import RunOptions, RunReport, run_suite
    from harness.run import run as run_sync

__all__ = ["RunOptions", "RunReport", "__version__", "load_suite", "run_suite", "run_sync"]

_LAZY = {
    "load_suite": "harness.config.loader",
    "RunOptions": "harness.run",
    "RunReport": "harness.run",
    "run_suite": "harness.run",
    # Not `run`: the submodule harness.run would shadow it once imported.
    "run_sync": "harness.run:run",
}


def __getattr__(name: str) -> Any:
    # Lazy, so `harness --help` does not pay for anyio, yaml and msgspec.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    import importlib

    module, _, attribute = module.partition(":")
    return getattr(importlib.import_module(module), attribute or name)
