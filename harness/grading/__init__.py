"""Grading: checks on what an attempt produced (its final output, its tool calls, its
workspace), each answering with a verdict. Layout, one line a module's job:

  verdict.py      Verdict (pass/fail/uncertain/error, score, evidence, weight), GraderError
  context.py      GradingContext: output, ordered tool calls, workspace; built from a trace
  registry.py     grader types by name; entry points `harness.graders`, --grader-plugin
  builtins.py     the built-in catalogue
  assertions.py   RunLedger's five checks; contracts.py makes them grader types
  output.py       must_contain, regex_match, json_match, exact_match, ...
  calls.py        trace_* assertions (Assay's and its V1 reference's)
  commands.py     run-command; files.py: file graders; judge.py: the LLM judge
  prepare.py      load-time checks: paths, schemas, regexes, ineffective assertions
  scoring.py      verdicts -> one decision (all pass, or weighted score vs threshold)
  engine.py       grade_attempt(): run the graders, decide, describe failures
  regrade.py      grade a stored run again with the current config
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.grading.assertions import AssertionFailure, grade

__all__ = ["AssertionFailure", "grade"]


def __getattr__(name: str) -> Any:
    # Lazy: importing the package (for Verdict, say) must not load jsonschema_rs.
    if name in __all__:
        # lazy: importing the package must not load jsonschema_rs
        from harness.grading import assertions

        return getattr(assertions, name)
    raise AttributeError(f"module 'harness.grading' has no attribute {name!r}")
