"""Vally's grader catalogue with Vally's field names and evidence strings, graded over a Vally
trajectory (the events, metrics and output an eval run records). Layout:

  trajectory.py   the trajectory a grader reads (GradingContext.meta), metrics with fallbacks
  text.py         JavaScript-style regexes, globs over the workspace, the transcript text
  output.py       output-*, transcript-*, completed, exit-success
  files.py        file-* (globs) and diff-* (against the workspace as set up)
  steps.py        tool-calls, skill-invocation, loop-outcome, assistant-contains-tool-output
  metrics.py      token-budget, tool-call-count, turn-count, error-count, wall-time
  program.py      program (EVALUATE_WORKSPACE, EVALUATE_GRADER_INPUT) and run-command
  judges.py       prompt and panel through a judge command; pairwise (compare only)
  catalogue.py    the GraderTypes, registered where only Vally eval specs build their specs
"""
