"""harness.cli.flags: a flag that means one thing is spelled, shortened and explained alike in
every command that takes it; `ci` takes every flag of `run`; the top-level help is whole."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from harness._version import __version__
from harness.cli.app import app

# Flags whose name is shared by commands in which it means different things.
DIFFERENT_MEANINGS = {
    "--suite": "grade: the suite folder to grade with; history: a suite name; init: the name",
    "--model": "run, ci: the models to run every case on; history: show only this model",
}


def commands(group: Any, prefix: str = "harness") -> Iterator[tuple[str, Any]]:
    for name in group.list_commands(None):
        command = group.commands[name]
        path = f"{prefix} {name}"
        if name in ("assay", "vally"):  # Assay's and Vally's own CLIs, flag for flag
            continue
        if hasattr(command, "commands"):
            yield from commands(command, path)
        else:
            yield path, command


def declaration(option: Any) -> tuple[Any, ...]:
    return (tuple(option.opts), tuple(option.secondary_opts), option.help, option.multiple)


def test_a_flag_is_declared_alike_in_every_command() -> None:
    root: Any = typer.main.get_command(app)
    seen: dict[str, tuple[str, tuple[Any, ...]]] = {}
    differences = []
    for path, command in commands(root):
        for param in command.params:
            if param.param_type_name != "option" or param.opts[0] in DIFFERENT_MEANINGS:
                continue
            for name in (*param.opts, *param.secondary_opts):
                first = seen.setdefault(name, (path, declaration(param)))
                if first[1] != declaration(param):
                    differences.append(
                        f"{name}: {first[0]} {first[1]} != {path} {declaration(param)}"
                    )
    assert not differences, "\n".join(differences)
    assert {"--case", "--db", "--threshold", "--junit", "--json"} <= set(seen)


def test_ci_takes_every_flag_of_run() -> None:
    root: Any = typer.main.get_command(app)

    def names(command: Any) -> set[str]:
        return {
            name
            for param in command.params
            if param.param_type_name == "option"
            for name in (*param.opts, *param.secondary_opts)
        }

    run, ci = root.commands["run"], root.commands["ci"]
    assert names(run) - names(ci) == {"--list"}
    for param in ci.params:
        if param.param_type_name == "option" and param.opts[0] != "--help":
            assert param.help, f"harness ci {param.opts[0]} has no help text"


@pytest.mark.parametrize("args", [["--version"], ["version"]])
def test_version(args: list[str]) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0
    assert result.output == f"harness {__version__}\n"


@pytest.mark.parametrize("args", [["-h"], ["run", "-h"], ["baseline", "promote", "-h"]])
def test_h_is_help_everywhere(args: list[str]) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: harness")


def test_top_level_help_keeps_each_description_whole() -> None:
    result = CliRunner().invoke(app, ["--help"], terminal_width=60)
    assert result.exit_code == 0
    listed = " ".join(result.output.split("Commands:")[1].split())
    assert "..." not in listed  # descriptions wrap onto several lines
    assert "3 infrastructure, 130 interrupted." in listed
    assert "with Assay's outputs and exit codes." in listed
