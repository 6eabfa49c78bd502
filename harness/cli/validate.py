"""`harness validate SUITE`: every check `harness run` makes before an agent starts, and nothing
else: what `harness run SUITE --runs 0` does, under the name people look for."""

from __future__ import annotations

from harness.cli import flags


def validate_command(
    suite: flags.SuiteArg,
    mode: flags.Mode = None,
    case: flags.Case = None,
    tag: flags.Tag = None,
    model: flags.Model = None,
    runs: flags.Runs = None,
    baseline: flags.Baseline = None,
    agent_reuse: flags.AgentReuse = None,
    engine: flags.Engine = "local",
    grader_plugin: flags.GraderPlugin = None,
    allow_ineffective_assertions: flags.AllowIneffective = False,
) -> None:
    """Check a suite as `run` would (files, keys, graders, cassettes, the agent command, the
    plan, the baseline) without running anything: exit 0 valid, 2 with every problem found."""
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    import sys

    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from harness.api import validate_run
    from harness.cli.progress import QUIET, ProgressEvents
    from harness.cli.run import options_from_flags, plan_shape

    options = options_from_flags(locals())
    events = ProgressEvents(QUIET)
    try:
        prepared = validate_run(options, events)
    finally:
        events.close()
    print(f"{prepared.suite.name}: valid; a run makes {plan_shape(prepared)}", file=sys.stderr)
