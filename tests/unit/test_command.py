"""Command tools (harness.tools.command): JSON in on stdin, JSON out on stdout; one that cannot
start is unreachable, one past its timeout is killed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harness.config.schema import ToolRetry
from harness.tools.backend import LiveTool, ToolFailure, TransientToolError
from harness.tools.command import CommandBackend

COMMAND_TOOL = """
import json, sys
call = json.load(sys.stdin)
args = call["args"]
if args.get("status"):
    print("it went wrong", file=sys.stderr)
    sys.exit(args["status"])
if args.get("garbage"):
    print("not json")
    sys.exit(0)
print(json.dumps({"tool": call["tool"], "echo": args}))
"""


async def test_command_tool_json_in_json_out(tmp_path: Path) -> None:
    script = tmp_path / "tool.py"
    script.write_text(COMMAND_TOOL, encoding="utf-8")
    backend = CommandBackend([sys.executable, str(script)], cwd=tmp_path)
    assert await backend.call("echo", {"x": "é"}) == {"tool": "echo", "echo": {"x": "é"}}
    with pytest.raises(ToolFailure, match="exited with status 3: it went wrong"):
        await backend.call("echo", {"status": 3})
    with pytest.raises(TransientToolError, match="status 75"):
        await backend.call("echo", {"status": 75})
    with pytest.raises(ToolFailure, match="not JSON on stdout"):
        await backend.call("echo", {"garbage": True})


async def test_command_tool_that_cannot_start_is_unreachable(tmp_path: Path) -> None:
    answer = await LiveTool("x", CommandBackend([str(tmp_path / "missing")])).call({})
    assert answer.unavailable and answer.tries == 1


async def test_command_tool_killed_at_its_timeout(tmp_path: Path) -> None:
    backend = CommandBackend([sys.executable, "-c", "import time; time.sleep(30)"])
    tool = LiveTool("slow", backend, timeout_ms=300, retry=ToolRetry(attempts=1))
    answer = await tool.call({})
    assert answer.unavailable and "no answer within 0.3 s" in (answer.error or "")
