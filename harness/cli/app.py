"""The `harness` typer app. Heavy modules are imported inside commands so --help stays fast."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="harness",
    help="Test tool-using AI agents the way CI tests code.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _root() -> None:
    """Test tool-using AI agents the way CI tests code."""


@app.command("run")
def run_command(
    suite: Annotated[Path, typer.Argument(help="Suite directory (or its suite.yaml).")],
    mode: Annotated[
        str | None,
        typer.Option("--mode", help="replay | record | auto | live (overrides the suite)."),
    ] = None,
    case: Annotated[
        list[str] | None, typer.Option("--case", help="Run only this case id (repeatable).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", "-j", help="Attempts at once (default 2 x cores).")
    ] = None,
    output_dir: Annotated[
        Path | None,
        typer.Option("--output-dir", help="Where run directories go (default harness_out)."),
    ] = None,
    strict: Annotated[
        bool | None,
        typer.Option(
            "--strict/--no-strict", help="Replay-strict: unused or out-of-order entries fail."
        ),
    ] = None,
) -> None:
    """Run a suite and exit 0 (all passed), 1 (a case failed), 2 (bad input), 3, or 130."""
    from harness.cli.run import execute_run
    from harness.run import RunOptions

    options = RunOptions(
        suite=suite,
        mode=mode,
        case_ids=tuple(case or ()),
        workers=workers,
        output_dir=output_dir,
        strict=strict,
    )
    raise typer.Exit(execute_run(options))


@app.command("version")
def version_command() -> None:
    """Print the harness version."""
    from harness import __version__

    print(f"harness {__version__}")


def main() -> None:
    # A reader that closes the pipe early (`harness run ... | head`) is not an error.
    try:
        app()
    except BrokenPipeError:
        _silence_stdout()
        sys.exit(os.EX_OK)


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
