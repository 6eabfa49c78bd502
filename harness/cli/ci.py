"""`harness ci`: run a suite for CI, write the reports asked for, exit with Assay's codes.

Exit codes as Assay's: 0 success, 1 a test failed or regressed, 2 config or input error, 3
infrastructure; plus 130 when interrupted. The last line names Assay's reason code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli import gate_flags

# Exit code -> Assay's reason code (reason_code_version 1); where Assay has no code for what
# happened (a full disk, Ctrl+C), one in its style.
ASSAY_REASONS = {
    "all_passed": "",
    "cases_failed": "E_TEST_FAILED",  # a failing case or a regression
    "config": "E_CFG_PARSE",  # config, baseline or flag error: nothing ran
    "infrastructure_error": "E_INFRASTRUCTURE",
    "interrupted": "E_INTERRUPTED",
}


def ci_command(
    ctx: typer.Context,
    suite: Annotated[Path, typer.Argument(help="Suite directory (or its suite.yaml).")],
    junit: Annotated[Path | None, typer.Option("--junit", help="Write JUnit XML here.")] = None,
    sarif: Annotated[Path | None, typer.Option("--sarif", help="Write SARIF 2.1.0 here.")] = None,
    markdown: Annotated[
        Path | None,
        typer.Option("--markdown", "--pr-comment", help="Write the PR comment here."),
    ] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write the HTML report here.")] = None,
    mode: Annotated[str | None, typer.Option("--mode", help="Overrides the suite's mode.")] = None,
    case: Annotated[list[str] | None, typer.Option("--case", help="Only these cases.")] = None,
    model: Annotated[list[str] | None, typer.Option("--model", help="a,b: models.")] = None,
    runs: Annotated[int | None, typer.Option("--runs", help="Trials per case and model.")] = None,
    workers: Annotated[int | None, typer.Option("--workers", "-j")] = None,
    output_dir: Annotated[Path | None, typer.Option("--output-dir")] = None,
    baseline: gate_flags.BaselineFlag = None,
    export_baseline: gate_flags.ExportBaselineFlag = None,
    db: gate_flags.DbFlag = gate_flags.DEFAULT_DB,
    incremental: gate_flags.IncrementalFlag = False,
    no_cache: gate_flags.NoCacheFlag = False,
    rerun_failures: Annotated[
        int, typer.Option("--rerun-failures", help="Re-run failed attempts (default 2, Assay's).")
    ] = 2,
    quarantine_flaky: gate_flags.QuarantineFlakyFlag = False,
) -> None:
    """Run, gate, write reports; exit 0 / 1 / 2 / 3 as Assay does (130 on Ctrl+C)."""
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    import sys

    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from harness.api import reason_of_exit
    from harness.cli.commands import CLOSING_LINE
    from harness.cli.run import execute_run, options_from_flags

    chosen = {"junit": junit, "sarif": sarif, "markdown": markdown, "html": html}
    reports = {kind: path for kind, path in chosen.items() if path is not None}
    options = options_from_flags(locals(), reports=reports)

    def closing_line(code: int) -> None:
        reason = reason_of_exit(code)
        for kind, path in reports.items():
            if path.exists():
                print(f"{kind}: {path}", file=sys.stderr)
        print(f"harness ci: exit {code} {ASSAY_REASONS[reason] or 'OK'}", file=sys.stderr)

    ctx.meta[CLOSING_LINE] = closing_line
    raise typer.Exit(execute_run(options))
