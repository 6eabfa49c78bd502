"""`match.ignore_args`: argument paths left out when a call is matched to a recorded one.

A path is `$.field.sub`, `$.items[*].id` or `$.list[0]` (the `$.` may be left out); a
`tool:` prefix limits it to one tool. Volatile fields (request ids, timestamps) are ignored
this way, explicitly, instead of by redaction turning them into wildcards.
"""

from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(r"\.([^.\[\]]+)|\[(\*|\d+)\]|\[\"([^\"]*)\"\]|\['([^']*)'\]")
_TOOL_PREFIX = re.compile(r"^([A-Za-z0-9_.\-/]+):(?=\$|[^$:])")
WILDCARD = "*"

Path = tuple[str | int, ...]


def parse_ignore_path(text: str) -> tuple[str | None, Path]:
    """`search:$.page[0].id` -> ("search", ("page", 0, "id")).

    Raises:
        ValueError: the path is empty or malformed, with what to write instead.
    """
    tool = None
    prefix = _TOOL_PREFIX.match(text)
    if prefix is not None:
        tool, text = prefix[1], text[prefix.end() :]
    body = text[1:] if text.startswith("$") else "." + text if text[:1] != "[" else text
    segments: list[str | int] = []
    position = 0
    while position < len(body):
        found = _TOKEN.match(body, position)
        if found is None:
            raise ValueError(
                f"cannot read the path at {body[position:][:20]!r}; write it as "
                "$.field, $.list[*].field or $.list[0]"
            )
        name, index, dq, sq = found.groups()
        if name is not None:
            segments.append(name)
        elif index is not None:
            segments.append(WILDCARD if index == WILDCARD else int(index))
        else:
            segments.append(dq if dq is not None else sq)
        position = found.end()
    if not segments:
        raise ValueError("the path names no field; write it as $.field")
    return tool, tuple(segments)


class IgnoreArgs:
    """Compiled `ignore_args` paths, applied to recorded and incoming args alike."""

    def __init__(self, paths: list[str]) -> None:
        self._paths = [parse_ignore_path(path) for path in paths]

    def __bool__(self) -> bool:
        return bool(self._paths)

    def apply(self, tool: str, args: dict[str, Any]) -> dict[str, Any]:
        """A copy of `args` without the ignored paths (the input is not changed)."""
        result: Any = args
        for only, path in self._paths:
            if only is None or only == tool:
                result = _without(result, path)
        return result if isinstance(result, dict) else args


def _without(value: Any, path: Path) -> Any:
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        keys = list(value) if head == WILDCARD else [head] if head in value else []
        if not keys:
            return value
        copy = dict(value)
        for key in keys:
            if rest:
                copy[key] = _without(copy[key], rest)
            else:
                del copy[key]
        return copy
    if isinstance(value, list):
        if head == WILDCARD:
            indexes = list(range(len(value)))
        elif isinstance(head, int) and 0 <= head < len(value):
            indexes = [head]
        else:
            return value
        if not rest:
            return [item for i, item in enumerate(value) if i not in indexes]
        return [_without(item, rest) if i in indexes else item for i, item in enumerate(value)]
    return value
