"""`harness grade RUN_DIR`, and the grading options of `harness run`'s flags.

Only typer is imported at module level: `harness --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from harness.cli import flags

if TYPE_CHECKING:
    from harness.grading.engine import GradeOptions


def grade_options(
    *,
    skip: bool = False,
    threshold: float | None = None,
    judge_model: str | None = None,
    judge_samples: int | None = None,
) -> GradeOptions:
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from harness.grading.context import JudgeSettings
    from harness.grading.engine import GradeOptions

    judge = JudgeSettings(model=judge_model, samples=judge_samples)
    return GradeOptions(skip=skip, threshold=threshold, judge=judge)


def grade_command(
    run_dir: flags.RunDirArg,
    suite: Annotated[
        Path | None,
        typer.Option("--suite", help="The suite to grade with (default: the run's suite)."),
    ] = None,
    threshold: flags.Threshold = None,
    judge_model: flags.JudgeModel = None,
    judge_samples: flags.JudgeSamples = None,
    grader_plugin: flags.GraderPlugin = None,
    allow_ineffective_assertions: flags.AllowIneffective = False,
) -> None:
    """Grade a stored run again with the current config (works after `run --skip-grade`).

    Writes RUN_DIR/grades/<id>/ (results.jsonl, summary.json, junit.xml, grade.json); the
    run's own files are never touched. Exit 0 all passed, 1 a case failed, 2 bad input, 3 a
    grader could not run.
    """
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    import anyio

    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from harness.cli.console import echo
    from harness.execute.regrade import regrade_run
    from harness.storage.latest import resolve_run_dir

    run_dir = resolve_run_dir(run_dir)

    options = grade_options(
        threshold=threshold, judge_model=judge_model, judge_samples=judge_samples
    )
    report = anyio.run(
        lambda: regrade_run(
            run_dir,
            options=options,
            suite_path=suite,
            plugins=tuple(grader_plugin or ()),
            allow_ineffective=allow_ineffective_assertions,
        )
    )
    for warning in report.warnings:
        echo(f"warning: {warning}", err=True)
    for result in report.results:
        if result.status != "pass":
            first = result.failures[0].message.splitlines()[0] if result.failures else ""
            echo(f"{result.attempt_id or result.case_id}: {result.status}: {first}")
    total = len(report.results)
    print(f"{report.passed} passed, {total - report.passed} not passed ({report.reason})")
    print(f"Grade directory: {report.grade_dir}")
    raise typer.Exit(report.exit_code)
