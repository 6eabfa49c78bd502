"""The agent process, from harness's side.

process.py      resolve the executable; open it in its own process group; terminate the group
spawn.py        the fork/exec under it, off the event loop, with pipes made on the loop
session.py      typed messages over the pipes (line limits), stderr to a log and a tail
environment.py  the environment an agent gets (inherited or clean, plus the suite's)

`from harness.agent import Agent, run` is kept as an alias of harness.sdk, which agents written
before the SDK had its own package import; new agents import harness.sdk.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.sdk import Agent, Task, ToolError, ToolReply, run, serve

__all__ = ["Agent", "Task", "ToolError", "ToolReply", "run", "serve"]

_SDK_NAMES = frozenset(__all__)


def __getattr__(name: str) -> Any:
    # Lazy: the runner imports harness.agent.process, which must not load the SDK.
    if name not in _SDK_NAMES:
        raise AttributeError(f"module 'harness.agent' has no attribute {name!r}")
    # lazy: the runner imports harness.agent.process, which must not load the SDK
    import harness.sdk

    return getattr(harness.sdk, name)
