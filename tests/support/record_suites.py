"""Suites for the record-mode tests: live tools beside suite.yaml, script agents that call them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.cli_runs import script_agent_command
from tests.support.files import read_jsonl, write_suite

TOOLS_PY = """
import asyncio, json, os, time
from pathlib import Path

LOG = Path(__file__).with_name("live_calls.jsonl")


def _log(tool, args):
    with LOG.open("a") as handle:
        handle.write(json.dumps({"tool": tool, "args": args}) + "\\n")


def weather(city):
    _log("weather", {"city": city})
    return {"city": city, "temp_c": len(city) * 3}


async def forecast(city, days=1):
    await asyncio.sleep(0)
    _log("forecast", {"city": city, "days": days})
    return [{"day": d, "city": city} for d in range(days)]


def slow(n):
    time.sleep(0.4)
    return {"n": n}


def secrets():
    return {
        "token": os.environ["ACME_API_TOKEN"],
        "note": "plain " + os.environ["PLAIN_SETTING"],
        "openai": "sk-" + "Z" * 24,
    }


def unreachable(**_):
    raise ConnectionError("connection refused")


def lookup(key):
    _log("lookup", {"key": key})
    return {"key": key, "value": key.upper()}
"""

COMMAND_TOOL = """
import json, sys
call = json.load(sys.stdin)
args = call["args"]
if args.get("fail"):
    print("no such thing: " + args["fail"], file=sys.stderr)
    sys.exit(2)
print(json.dumps({"tool": call["tool"], "sum": sum(args["numbers"])}))
"""


def live_suite(
    root: Path,
    registry: list[str],
    tools: dict[str, Any],
    cases: list[dict[str, Any]],
    **settings: Any,
) -> Path:
    """A suite with tools.py and command_tool.py beside suite.yaml and the script agent."""
    suite = write_suite(
        root,
        {
            "suite_name": root.name,
            "agent_command": script_agent_command(),
            "tool_registry": registry,
            "tools": tools,
            **settings,
        },
        cases,
    )
    (suite / "tools.py").write_text(TOOLS_PY, encoding="utf-8")
    (suite / "command_tool.py").write_text(COMMAND_TOOL, encoding="utf-8")
    return suite


def case(case_id: str, steps: list[dict[str, Any]], cassette: str | None = None) -> dict[str, Any]:
    return {
        "id": case_id,
        "cassette": cassette or f"cassettes/{case_id}.jsonl",
        "input": {"steps": [*steps, {"final_from_results": True}]},
    }


def call(tool: str, **args: Any) -> dict[str, Any]:
    return {"call": tool, "args": args}


def cassette_lines(path: Path) -> list[dict[str, Any]]:
    return read_jsonl(path)


def entries(path: Path) -> list[dict[str, Any]]:
    """A cassette's interactions, the header checked to come first."""
    lines = cassette_lines(path)
    assert lines and lines[0].get("type") == "cassette_header", lines[:1]
    assert all(line.get("type") != "cassette_header" for line in lines[1:])
    return lines[1:]


def live_calls(suite: Path) -> list[dict[str, Any]]:
    log = suite / "live_calls.jsonl"
    return read_jsonl(log) if log.exists() else []


def final_outputs(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["case_id"]: e["output"] for e in events if e["type"] == "final_output"}


def write_legacy_cassette(path: Path, tool: str, args: dict[str, Any], result: Any) -> bytes:
    """A RunLedger-style cassette (no header); returns its bytes to compare later."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = {"tool": tool, "args": args, "ok": True, "result": result, "error": None}
    data = (json.dumps(line, sort_keys=True) + "\n").encode()
    path.write_bytes(data)
    return data
