"""Record-mode settings in suite.yaml: each mistake is one `file:line: field: ...` error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.config.schema import HttpToolSpec, McpToolSpec, PythonToolSpec
from harness.errors import ConfigError, ConfigErrors
from harness.plan.load import load_suite

HEAD = """suite_name: s
agent_command: [python3, agent.py]
mode: replay
cases_path: cases
tool_registry: [weather, search, clock]
"""


def suite_at(tmp_path: Path, extra: str) -> Path:
    (tmp_path / "cases").mkdir(exist_ok=True)
    (tmp_path / "cases" / "c.yaml").write_text("id: c\ninput: {}\n", encoding="utf-8")
    (tmp_path / "suite.yaml").write_text(HEAD + extra, encoding="utf-8")
    return tmp_path


def errors(tmp_path: Path, extra: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_suite(suite_at(tmp_path, extra))
    error = caught.value
    lines = [e.render() for e in error.errors] if isinstance(error, ConfigErrors) else [str(error)]
    return [line.replace(str(tmp_path) + os.sep, "") for line in lines]


def test_tools_mcp_servers_redact_and_match_load(tmp_path: Path) -> None:
    suite = load_suite(
        suite_at(
            tmp_path,
            """tools:
  weather: {backend: python, function: "tools:weather", timeout_ms: 500}
  search: {backend: http, url: "http://127.0.0.1:9/s", headers_env: {X-Key: "${K}"}}
  clock: {backend: mcp, server: time, name: get_current_time}
mcp_servers:
  time: {command: [mcp-server-time]}
redact: {env: [K], keys: [session], patterns: ["id-(\\\\d+)"]}
match: {ignore_args: ["$.request_id", "search:$.page"]}
""",
        )
    )
    assert isinstance(suite.tools["weather"], PythonToolSpec)
    assert isinstance(suite.tools["search"], HttpToolSpec)
    assert isinstance(suite.tools["clock"], McpToolSpec) and suite.tools["clock"].server == "time"
    assert suite.redact is not None and suite.redact.env == ["K"]
    assert suite.match is not None and suite.match.ignore_args[1] == "search:$.page"


def test_each_mistake_is_one_line_at_its_place(tmp_path: Path) -> None:
    found = errors(
        tmp_path,
        """tools:
  weather: {backend: python, function: "tools.weather", timeout_ms: 0}
  search: {backend: http, url: "ftp://x", headers_env: {Authorization: "Bearer abc"}}
  clock: {backend: mcp, server: nowhere, retry: {attempts: 0}}
  ghost: {backend: command, command: [x]}
redact: {patterns: ["(unclosed"]}
match: {ignore_args: ["$.a..b"]}
""",
    )
    assert found == [
        "suite.yaml:7: tools.weather.timeout_ms: must be greater than 0, got 0",
        "suite.yaml:7: tools.weather.function: write it as module:function, e.g. tools:get_weather",
        "suite.yaml:8: tools.search.url: must start with http:// or https://, got 'ftp://x'",
        "suite.yaml:8: tools.search.headers_env.Authorization: must read an environment "
        "variable, e.g. 'Bearer ${API_TOKEN}'; header values never come from the suite file",
        "suite.yaml:9: tools.clock.retry.attempts: must be 1 or more (tries in all), got 0",
        "suite.yaml:9: tools.clock.server: no MCP server 'nowhere' under mcp_servers "
        "(none are declared)",
        "suite.yaml:10: tools.ghost: tool 'ghost' is not in tool_registry; add it there or "
        "remove it here",
        "suite.yaml:11: redact.patterns[0]: invalid regular expression: missing ), unterminated "
        "subpattern at position 0; escape special characters with \\",
        "suite.yaml:12: match.ignore_args[0]: cannot read the path at '..b'; write it as "
        "$.field, $.list[*].field or $.list[0]",
    ]


def test_an_unknown_or_missing_backend_lists_the_valid_ones(tmp_path: Path) -> None:
    valid = "valid backends: python, command, http, mcp"
    found = errors(tmp_path, "tools:\n  weather: {backend: grpc, url: x}\n")
    assert found == [f"suite.yaml:7: tools.weather.backend: unknown backend 'grpc'; {valid}"]
    found = errors(tmp_path, "tools:\n  weather: {backend: python, function: a:b}\n  s: {url: x}\n")
    assert found == [f"suite.yaml:8: tools.s.backend: missing required key; {valid}"]
