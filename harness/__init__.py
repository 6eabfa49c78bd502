"""harness: test tool-using AI agents the way CI tests code.

Layout, one line a module's job:
  protocol/   the JSONL agent protocol: typed messages and the line codec
  config/     suite and case files -> Suite (validated, paths resolved, file:line errors)
  agent/      the agent process: spawn in its own group, talk, terminate the whole group
  cassette/   recorded interactions: format, matching, the replay gateway
  grading/    assertions on the final output and the trace
  runner.py   one attempt, from spawn to AttemptResult (writes no files)
  pool.py     attempts over a bounded worker pool, results streamed as they finish
  storage/    the run directory: atomic writes, appended result lines
  reports/    summary.json, junit.xml, the console
  cli/        the typer app: the only place an error becomes an exit code
"""

from __future__ import annotations

__version__ = "0.1.0"
