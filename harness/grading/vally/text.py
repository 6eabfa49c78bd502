"""Text helpers Vally's graders share: JavaScript-style regexes, workspace globs as Node's
`glob()` reads them, and the transcript as one searchable text."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from pathlib import Path

import msgspec

from harness.config.paths import PathEscapeError, check_relative, inside
from harness.grading.commands import inline_regex
from harness.grading.vally.trajectory import Trajectory, data_of

# JavaScript's named groups `(?<name>...)`; Python spells them `(?P<name>...)`. Lookbehinds
# `(?<=` and `(?<!` are the same in both.
_JS_NAMED_GROUP = re.compile(r"\(\?<(?![=!])")
_BRACES = re.compile(r"\{([^{}]*,[^{}]*)\}")
MAX_GLOB_MATCHES = 10_000
MAX_READ_BYTES = 16 * 1024 * 1024


@functools.lru_cache(maxsize=512)
def js_regex(pattern: str) -> re.Pattern[str]:
    """A Vally pattern: JavaScript syntax with the `(?i)`, `(?m)`, `(?s)` flags Vally adds.

    Raises:
        re.error: the pattern is not a valid regular expression.
    """
    return inline_regex(_JS_NAMED_GROUP.sub("(?P<", pattern))


def regex_problem(pattern: str) -> str | None:
    """Why `pattern` cannot be compiled, or None."""
    try:
        js_regex(pattern)
    except (re.error, RecursionError, OverflowError, ValueError) as exc:
        return f"invalid regular expression {pattern!r}: {exc}"
    return None


def expand_braces(pattern: str) -> list[str]:
    """`src/*.{ts,js}` -> [`src/*.ts`, `src/*.js`], as Node's glob expands braces."""
    found = _BRACES.search(pattern)
    if found is None:
        return [pattern]
    head, tail = pattern[: found.start()], pattern[found.end() :]
    return [
        expanded
        for option in found[1].split(",")
        for expanded in expand_braces(head + option + tail)
    ]


def glob_workspace(root: Path, pattern: str) -> list[str]:
    """Files under `root` matching `pattern`, as sorted POSIX paths relative to `root`.
    Matches that resolve outside the workspace (a symlink pointing out) are left out.

    Raises:
        PathEscapeError: the pattern itself leaves the workspace (absolute, `..`).
    """
    check_relative(pattern)
    found: set[str] = set()
    for expanded in expand_braces(pattern.replace("\\", "/")):
        for path in _glob(root, expanded):
            relative = path.relative_to(root).as_posix()
            try:
                inside(root, relative)
            except PathEscapeError:
                continue
            found.add(relative)
            if len(found) >= MAX_GLOB_MATCHES:
                return sorted(found)
    return sorted(found)


def _glob(root: Path, pattern: str) -> Iterator[Path]:
    if not any(char in pattern for char in "*?["):
        candidate = root / pattern
        if candidate.exists():
            yield candidate
        return
    yield from root.glob(pattern)
    if pattern == "**" or pattern.endswith("/**"):
        # Node's `dir/**` is the folder and everything under it; Python's, folders only.
        yield from root.glob(pattern + "/*")


def read_text(path: Path) -> str:
    """A file's text (UTF-8, undecodable bytes replaced, as Node's readFile does)."""
    with path.open("rb") as handle:
        return handle.read(MAX_READ_BYTES).decode("utf-8", errors="replace")


def transcript_text(trajectory: Trajectory) -> str:
    """Everything said and done in the trial, one line an event: messages, tool calls with
    their arguments, tool results, errors and the final output."""
    lines = []
    for event in trajectory.events:
        kind, data = event.get("type"), data_of(event)
        if kind == "tool_call":
            lines.append(f"tool_call {data.get('toolName')} {_json(data.get('arguments'))}")
        elif kind == "tool_result":
            lines.append(f"tool_result {data.get('toolName')} {_text(data.get('result'))}")
        elif kind in ("assistant_message", "user_message", "error", "skill_activation"):
            body = data.get("content", data.get("message", data.get("skillName")))
            lines.append(f"{kind} {_text(body)}")
    lines.append(trajectory.output)
    return "\n".join(lines)


def shown(values: list[str], limit: int = 10) -> str:
    more = f" (+{len(values) - limit} more)" if len(values) > limit else ""
    return ", ".join(values[:limit]) + more


def _text(value: object) -> str:
    return value if isinstance(value, str) else _json(value)


def _json(value: object) -> str:
    try:
        return msgspec.json.encode(value).decode()
    except (TypeError, msgspec.EncodeError):
        return str(value)


def relative_posix(path: str) -> str:
    return path.replace(os.sep, "/")
