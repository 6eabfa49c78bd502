"""harness: test tool-using AI agents the way CI tests code.

The tree, in the order data flows (docs/architecture.md draws it; each package imports only
from the ones listed after it here, which `make lint` checks):

  cli/        the typer app and the console; the one place an error becomes an exit code
  api.py      the Python API: RunOptions, run_suite / run_sync, RunReport, RunEvents
  assay/      Assay V1 configs over trace files (`harness assay run | ci`)
  vally/      Vally eval specs, .vally.yaml, experiments (`harness vally eval | grade | ...`)
  execute/    a whole run: prepare, engines (local pool, Ray), retry, reuse, reruns, finish
  reports/    renderers over one RunData: junit, sarif, markdown, html, summary.json rows
  gate/       baselines, the gate's checks and verdicts, the paired test
  aggregate/  tallies fed one result at a time, streaming percentiles, completeness, stats
  plan/       load the suite (every load-time check), select cases, cases x models x trials
  attempt/    one attempt: workspace, conversation on an AgentHost, grading, its result
  grading/    graders (built in, Assay's, plugins), their preparation, scoring
  proxy/      the model proxy: the agent's LLM calls recorded and replayed (model_proxy:)
  cassette/   recorded interactions: format, matching, redaction, recording, gateways
  tools/      live tool backends: python, command, http, mcp
  storage/    run directories, atomic writes, history, fingerprints
  agent/      the agent process: spawn in its own group, talk, terminate the group
  config/     what suite files mean: schema, YAML with lines, containment, paths
  sdk/        what Python agents import: `from harness.sdk import Agent, run`
  protocol/   the JSONL messages and their codec
  results.py  AttemptResult, Failure, Verdict: what every layer above reads and writes
  errors.py   the exception tree and the exit codes
  kinds.py    the one table of failure kinds: status, infrastructure, retryable
"""

from __future__ import annotations

import importlib
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

    return getattr(importlib.import_module(module), name)
