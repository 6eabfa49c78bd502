"""What the tests share, imported as `tests.support.<module>` (pytest puts the repo root on
sys.path: `pythonpath` in pyproject.toml).

- files: suites, case files and cassettes written from dicts; JSON and JSON Lines read back.
- suites: a suite written from dicts and loaded (unit tests).
- cli_runs: `python -m harness` run as a real subprocess, and the processes it left behind.
- watch: a run's peak memory and open file descriptors, sampled from outside.
- gate_suites, record_suites, sweep_suites, hostile_suites: the suites of the gate and report,
  record-mode, sweep and hostile-agent tests.

The agents tests start are scripts run as subprocesses, not modules: tests/agents and
tests/faults/agents.
"""
