"""Command lines in suite files (agent_command, a command tool's and an MCP server's `command`):
the `{python}` placeholder, and placeholders YAML read as mappings."""

from __future__ import annotations

import sys
from typing import Any

PYTHON_PLACEHOLDER = "{python}"
# `{name}` unquoted in a flow list (`[{python}, agent.py]`, as the README writes it) is a YAML
# mapping with one key and no value; these names are taken back to the placeholder.
PLACEHOLDER_NAMES = frozenset({"python", "model"})


def python_element(element: str) -> str:
    """The element, or for `{python}` the interpreter running harness: it has harness's SDK
    (and the extras installed beside it, such as the MCP SDK), wherever harness is installed."""
    return sys.executable if element == PYTHON_PLACEHOLDER else element


def unbraced(command: Any) -> Any:
    """`command` (a YAML value) with each `{name: null}` element of a placeholder name read as
    the string `{name}`; anything else as it is."""
    if not isinstance(command, list) or not any(map(_braced, command)):
        return command
    return [f"{{{next(iter(item))}}}" if _braced(item) else item for item in command]


def _braced(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and len(item) == 1
        and next(iter(item)) in PLACEHOLDER_NAMES
        and next(iter(item.values())) is None
    )
