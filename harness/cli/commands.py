"""The root command group: the CLI's one error boundary, and lazy subcommands.

Every command body just raises: a HarnessError becomes `error: ...` lines on stderr and its exit
code (harness.errors), Ctrl+C becomes `interrupted` and 130, here and nowhere else. Click's own
usage errors exit 2 as they always do.

A subcommand's module is imported, and typer builds its options, when the command is looked up,
so `harness run` pays for `run` alone and `harness --help` for all."""

from __future__ import annotations

import importlib
import sys
import traceback
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

import typer
import typer.main
from typer.core import TyperGroup

from harness.errors import EXIT_INFRA, EXIT_INTERRUPTED, HarnessError
from harness.excerpts import for_terminal

# Subcommands defined in modules of their own: name -> (module, attribute); a Typer attribute
# is a command group. Importing all nine and building every one's options took `harness run`
# ~25 ms before its first agent started, one core idle.
LATER: dict[str, tuple[str, str]] = {
    "validate": ("harness.cli.validate", "validate_command"),
    "diff": ("harness.cli.diff", "diff_command"),
    "ci": ("harness.cli.ci", "ci_command"),
    "history": ("harness.cli.history", "history_command"),
    "report": ("harness.cli.report", "report_command"),
    "grade": ("harness.cli.grade", "grade_command"),
    "graders": ("harness.cli.graders", "graders_command"),
    "baseline": ("harness.cli.baseline", "app"),
    "assay": ("harness.cli.assay", "app"),
    "serve": ("harness.cli.serve", "serve_command"),
    "vally": ("harness.cli.vally", "app"),
}
# The order `harness --help` lists commands in (typer's: commands as registered, then groups).
ORDER = (
    "run",
    "validate",
    "diff",
    "ci",
    "history",
    "report",
    "grade",
    "graders",
    "serve",
    "init",
    "version",
    "baseline",
    "assay",
    "vally",
)


class WideHelpGroup(TyperGroup):
    """A group whose help lists each command's whole first sentence, wrapped, where click
    cuts it at the terminal's width with `...`."""

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=_NO_LIMIT)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


_NO_LIMIT = 10_000


class RootGroup(WideHelpGroup):
    """The `harness` group (typer's `cls=`): its `commands` build LATER ones on first lookup.

    Click and typer reach subcommands only through `commands` (lookup, listing, the "did you
    mean" hint), so each behaves as if every command had been built up front.
    """

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands(self.commands)

    def invoke(self, ctx: Any) -> Any:
        code = 0
        try:
            return super().invoke(ctx)
        except typer.Exit as exc:
            code = exc.exit_code
            raise
        except HarnessError as exc:
            report_error(exc)
            code = exc.exit_code
            raise typer.Exit(code) from None
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            code = EXIT_INTERRUPTED
            raise typer.Exit(code) from None
        except _CLICK_ERRORS:
            raise  # a bad flag: click prints the usage and exits 2, as it always does
        except Exception:
            # A bug in harness. Its exit must not read as "a case failed" (1), nor a damaged
            # input (2): the run could not be judged, as for any infrastructure error.
            traceback.print_exc()
            print(f"error: {INTERNAL_ERROR}", file=sys.stderr)
            code = EXIT_INFRA
            raise typer.Exit(code) from None
        finally:
            closing = ctx.meta.get(CLOSING_LINE)
            if closing is not None:
                closing(code)


# Click's own errors, whichever click typer uses (its vendored copy in 0.28).
_CLICK_ERRORS: tuple[type[BaseException], ...] = (
    *(kind for kind in typer.BadParameter.__mro__ if kind.__name__ == "ClickException"),
    typer.Abort,
)
INTERNAL_ERROR = "internal error in harness (a bug): please report it with the traceback above"

# A command's last words, whatever its exit code (`harness ci` names Assay's reason code):
# set `ctx.meta[CLOSING_LINE] = callable(exit_code)`; click shares `meta` with subcommands.
CLOSING_LINE = "harness.closing_line"


def report_error(exc: HarnessError) -> None:
    """One `error:` line for each line of the message (ConfigErrors hold one a problem)."""
    for line in str(exc).splitlines() or [type(exc).__name__]:
        print(f"error: {for_terminal(line)}", file=sys.stderr)


class LazyCommands(MutableMapping[str, Any]):
    """Built commands by name, and LATER's names, built on first `[]` or `.get`."""

    def __init__(self, built: Mapping[str, Any]) -> None:
        self._built = dict(built)
        self._names = [name for name in ORDER if name in self._built or name in LATER]
        self._names += [name for name in self._built if name not in self._names]

    def __getitem__(self, name: str) -> Any:
        command = self._built.get(name)
        if command is None:
            if name not in self._names:
                raise KeyError(name)
            command = self._built[name] = _build(name)
        return command

    def __setitem__(self, name: str, command: Any) -> None:
        if name not in self._names:
            self._names.append(name)
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self._names:
            raise KeyError(name)
        self._names.remove(name)
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names


def _build(name: str) -> Any:
    """The click command typer makes of LATER[name], registered as the root app did before."""
    module, attribute = LATER[name]
    target = getattr(importlib.import_module(module), attribute)
    # The root app's settings: they decide how typer builds each command and group.
    holder = typer.Typer(
        add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None
    )
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name)
    else:
        holder.command(name)(target)
    return typer.main.get_group(holder).commands[name]
