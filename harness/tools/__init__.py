"""Live tool backends, used in record, auto and live modes (replay never starts them).

```
backend.py   ToolBackend protocol, the error kinds, LiveTool (timeout + tenacity retries)
registry.py  the suite's tools -> backends: checked before the run, opened once per run
python.py    `module:function` and RunLedger's `tool_module` TOOLS dict, sync or async
command.py   an argv: the call as JSON on stdin, the result as JSON on stdout
http.py      a URL: the call as a JSON POST, headers from the environment
mcp.py       an MCP server over stdio, started once per run
fake.py      in-memory backend for tests and benchmarks
```
"""
