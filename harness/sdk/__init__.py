"""What Python agent authors import: `from harness.sdk import Agent, run`.

agent.py   Agent (input, call, try_call, log, usage) and run(): one function answers a task
serve.py   the protocol loop under it: one task per process, or many (protocol 2, multi_task)

Stdlib only, and nothing else of harness: an agent that imports it starts as fast as without.
"""

from harness.sdk.agent import Agent, ToolError, ToolReply, run
from harness.sdk.serve import Task, serve

__all__ = ["Agent", "Task", "ToolError", "ToolReply", "run", "serve"]
