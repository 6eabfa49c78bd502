"""`harness baseline promote`: make a run's summary the baseline future runs are gated on."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli import flags
from harness.cli.commands import WideHelpGroup

app = typer.Typer(
    help="Manage baseline files (RunLedger's format: a promoted summary.json).",
    no_args_is_help=True,
    rich_markup_mode=None,
    cls=WideHelpGroup,
)


@app.command("promote")
def promote_command(
    source: Annotated[Path, typer.Option("--from", help=flags.RUN_DIR_HELP)],
    target: Annotated[Path, typer.Option("--to", help="The baseline file to write.")],
    allow_failing: Annotated[
        bool,
        typer.Option("--allow-failing", help="Promote even if some cases did not pass."),
    ] = False,
) -> None:
    """Write the run's summary as a baseline: exit 0, or 2 when the run failed (see
    --allow-failing) or cannot be read."""
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from harness.gate.stored import promote
    from harness.storage.latest import resolve_run_dir

    path, summary = promote(resolve_run_dir(source), target, allow_failing=allow_failing)
    cases = len(summary.get("cases", []))
    suite = summary.get("suite", {}).get("name")
    print(f"baseline of suite {suite!r} ({cases} case rows) written to {path}")
