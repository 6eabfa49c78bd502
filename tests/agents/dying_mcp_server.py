"""An MCP server (stdio, official SDK) whose `lookup` tool kills the server on its first call
ever (a marker file remembers), to test that harness restarts a server that dies mid-run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mcp.server.mcpserver import MCPServer

MARKER = Path(sys.argv[1])
server = MCPServer("dying")


@server.tool()
def lookup(key: str) -> str:
    """Answer `value-<key>`; the first call of all exits the process instead."""
    if not MARKER.exists():
        MARKER.write_text(str(os.getpid()))
        print("dying on purpose", file=sys.stderr, flush=True)
        os._exit(3)
    return f"value-{key}"


if __name__ == "__main__":
    server.run("stdio")
