"""Which agent commands a fork server can run (`python [options] script args` or `python
[options] -m module args`), and how: the interpreter and options that start the server, and
what the child's sys.argv and sys.path[0] are. Anything else is spawned, for the reason said."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_PYTHON = re.compile(r"(python|pypy)[0-9.]*[a-z]?(\.exe)?")
# Interpreter flags that change how code runs, never which code: the server takes them on.
_FLAG_LETTERS = frozenset("bBdEIOPqsSuvR")


@dataclass(frozen=True)
class ForkTarget:
    """An agent command that a fork server can run."""

    interpreter: tuple[str, ...]  # the program and its options: the server's command
    script: str | None
    module: str | None
    args: tuple[str, ...]

    @property
    def child_argv(self) -> list[str]:
        """sys.argv as the interpreter sets it before the code runs (runpy fixes `-m`'s)."""
        return [self.script if self.script is not None else "-m", *self.args]

    def path0(self, cwd: Path | None) -> str:
        """sys.path[0] as the agent's own interpreter would set it, for the preload imports."""
        base = Path.cwd() if cwd is None else cwd
        if self.script is None:
            return str(base.absolute())
        return os.path.dirname(os.path.realpath(base / self.script))


def fork_target(argv: Sequence[str]) -> ForkTarget | str:
    """The command as a fork server runs it, or why it cannot (then harness spawns)."""
    name = os.path.basename(argv[0])
    if not _PYTHON.fullmatch(name):
        return f"{name!r} is not a Python interpreter"
    options: list[str] = []
    index = 1
    while index < len(argv):
        arg = argv[index]
        if arg == "-m" and index + 1 < len(argv):
            return ForkTarget((argv[0], *options), None, argv[index + 1], tuple(argv[index + 2 :]))
        if arg in ("-W", "-X") and index + 1 < len(argv):
            options += argv[index : index + 2]
            index += 2
            continue
        if _is_option(arg):
            options.append(arg)
        elif arg.startswith("-"):
            return f"the interpreter option {arg!r} is not a script or -m module"
        else:
            return ForkTarget((argv[0], *options), arg, None, tuple(argv[index + 1 :]))
        index += 1
    return "the command names no script or -m module"


def _is_option(arg: str) -> bool:
    """An interpreter option that changes nothing about what runs (-u, -B, -X dev, -W ...)."""
    if arg.startswith(("-W", "-X")):
        return len(arg) > 2
    return arg.startswith("-") and len(arg) > 1 and set(arg[1:]) <= _FLAG_LETTERS
