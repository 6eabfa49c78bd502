"""What the tests share, imported as `tests.support.<module>` (pytest puts the repo root on
sys.path: `pythonpath` in pyproject.toml). Fixtures are in tests/conftest.py.

- files: suites, case files and cassettes written from dicts; JSON and JSON Lines read back.
- cli_runs: `python -m harness` run as a real subprocess, and the processes it left behind.
- watch: a run's peak memory and open file descriptors, sampled from outside.
- gate_suites, record_suites, sweep_suites, hostile_suites: the suites of the gate and report,
  record-mode, sweep and hostile-agent tests.
- suites: suites written and loaded in-process, and their load errors (unit tests).
- graders, reports, tools: grading contexts and verdicts, a RunData, a fast tool retry.
- strategies, trees: hypothesis strategies for JSON values; a tree of symlinks.

The agents tests start are scripts run as subprocesses, not modules: tests/agents and
tests/faults/agents.
"""
