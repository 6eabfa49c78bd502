"""The Python API: run a suite from code exactly as `harness run` does.

```python
from harness.api import RunOptions, run_sync
report = run_sync(RunOptions(suite="evals", mode="replay"))
print(report.exit_code, report.passed, report.run_dir)
```
`run_suite` is the async form (anyio); `prepare_run` loads, selects and plans without running
anything, and `validate_run` also loads the baseline (what `harness validate`, `--runs 0` and
`--list` do). `RunEvents` is the hook a front end subclasses;
`reason_of_exit` names what an exit code stands for.
"""

from __future__ import annotations

from harness.execute.events import RunEvents
from harness.execute.finish import reason_of_exit
from harness.execute.options import GateOptions, RunOptions
from harness.execute.prepare import Prepared, prepare_run, validate_run
from harness.execute.report import RunReport
from harness.execute.run import run, run_suite
from harness.grading.engine import GradeOptions

run_sync = run

__all__ = [
    "GateOptions",
    "GradeOptions",
    "Prepared",
    "RunEvents",
    "RunOptions",
    "RunReport",
    "prepare_run",
    "reason_of_exit",
    "run",
    "run_suite",
    "run_sync",
    "validate_run",
]
