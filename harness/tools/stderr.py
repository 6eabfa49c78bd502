"""A live tool's own stderr on the console: a Python tool's prints and warnings as it writes
them, a command tool's stderr once it has ended. Each line is prefixed `[tool NAME] `, so it is
told apart from harness's lines; it is redacted (a tool may print the key it reads) and kept
from driving the terminal (a tool may echo what the agent sent it), by harness.excerpts."""

from __future__ import annotations

import contextlib
import contextvars
import re
import sys
from collections.abc import Iterator
from typing import Any

from harness.excerpts import for_terminal, redact

# The tool running in this task or thread, whose stderr lines get its name.
_RUNNING: contextvars.ContextVar[str | None] = contextvars.ContextVar("harness_tool", default=None)
# A line and its ending; str.splitlines ends lines at \v, \f, \x1c-\x1e, \x85 and U+2028/9 too.
_LINE = re.compile(r"(.*?)(\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029])?", re.DOTALL)
SHOWN_LINES = 50  # of a command tool's stderr


class ToolStderr:
    """sys.stderr once live tools run: what a running tool writes is prefixed, redacted and
    made safe, line by line; everything else passes through as it is."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self._midline: set[str] = set()  # tools whose last shown piece did not end its line
        # Each tool's line not ended yet: held until it ends (or the call does), so a key
        # written in pieces is redacted whole.
        self._held: dict[str, str] = {}

    def write(self, text: str) -> int:
        tool = _RUNNING.get()
        if tool is None:
            return int(self.target.write(text))
        out = []
        for piece in (self._held.pop(tool, "") + text).splitlines(keepends=True):
            found = _LINE.fullmatch(piece)
            assert found is not None  # the pattern matches any text
            if not found[2]:
                self._held[tool] = piece  # only the last piece can lack a line end
                break
            out.append(self._shown(tool, found[1], ended=True))
        self.target.write("".join(out))
        return len(text)

    def release(self, tool: str) -> None:
        """Show what `tool` left without a line end (its call is over)."""
        held = self._held.pop(tool, "")
        if held:
            self.target.write(self._shown(tool, held, ended=False))

    def _shown(self, tool: str, line: str, *, ended: bool) -> str:
        prefix = "" if tool in self._midline else f"[tool {tool}] "
        if ended:
            self._midline.discard(tool)
        else:
            self._midline.add(tool)
        return prefix + for_terminal(redact(line)) + ("\n" if ended else "")

    def __getattr__(self, name: str) -> Any:  # flush, fileno, isatty, encoding, ...
        return getattr(self.target, name)


def prefix_tool_stderr() -> None:
    """Install ToolStderr as sys.stderr, once."""
    if not isinstance(sys.stderr, ToolStderr):
        sys.stderr = ToolStderr(sys.stderr)


@contextlib.contextmanager
def running_tool(name: str) -> Iterator[None]:
    """Within: what this task (or thread) writes on stderr is the tool `name`'s."""
    prefix_tool_stderr()
    token = _RUNNING.set(name)
    try:
        yield
    finally:
        _RUNNING.reset(token)
        if isinstance(sys.stderr, ToolStderr):
            sys.stderr.release(name)


def show_tool_stderr(name: str, data: bytes) -> None:
    """What a command tool wrote on stderr, once it has ended, on the console: its last
    SHOWN_LINES lines (a chatty tool must not bury the run's own lines)."""
    lines = data.decode("utf-8", "replace").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        return
    left_out = len(lines) - SHOWN_LINES
    if left_out > 0:
        lines = [f"({left_out} earlier lines not shown)", *lines[left_out:]]
    with running_tool(name):
        sys.stderr.write("".join(line + "\n" for line in lines))
