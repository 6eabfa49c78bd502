"""Both sides of the agent process.

Runner side: process.py (spawn in its own group, terminate the group), session.py (typed
messages over the pipes, stderr kept), persistent.py (kept agents).
Agent side, for Python agents: `from harness.agent import Agent, run` (sdk.py, over serve.py).
Names are re-exported lazily so an agent importing them loads only the stdlib-only SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.agent.sdk import Agent, ToolError, ToolReply, run
    from harness.agent.serve import Task, serve

__all__ = ["Agent", "Task", "ToolError", "ToolReply", "run", "serve"]

_LAZY = {
    "Agent": "harness.agent.sdk",
    "ToolError": "harness.agent.sdk",
    "ToolReply": "harness.agent.sdk",
    "run": "harness.agent.sdk",
    "Task": "harness.agent.serve",
    "serve": "harness.agent.serve",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'harness.agent' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
