"""Checks of the record-mode settings that msgspec cannot express: `tools`, `mcp_servers`,
`redact` and `match`. Each problem is recorded at its line; nothing is imported or started."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from harness.cassette.ignore import parse_ignore_path
from harness.cassette.secret_rules import compile_pattern
from harness.config.schema import (
    TOOL_BACKENDS,
    CommandToolSpec,
    HttpToolSpec,
    McpToolSpec,
    PythonToolSpec,
    SuiteFile,
    ToolRetry,
)
from harness.config.suggest import did_you_mean
from harness.config.yaml_source import Document, Problems

_FUNCTION = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_Add = Callable[[str, str], None]


def check_live_tools(document: Document, suite: SuiteFile, problems: Problems) -> None:
    def add(path: str, message: str) -> None:
        problems.add(document.error(message, path))

    registry = set(suite.tool_registry)
    for name, spec in suite.tools.items():
        path = f"$.tools.{name}"
        if name not in registry:
            add(path, f"tool {name!r} is not in tool_registry; add it there or remove it here")
        if spec.timeout_ms is not None and spec.timeout_ms <= 0:
            add(f"{path}.timeout_ms", f"must be greater than 0, got {spec.timeout_ms}")
        if spec.retry is not None:
            _check_retry(add, f"{path}.retry", spec.retry)
        if isinstance(spec, PythonToolSpec) and not _FUNCTION.fullmatch(spec.function):
            add(f"{path}.function", "write it as module:function, e.g. tools:get_weather")
        elif isinstance(spec, CommandToolSpec) and not (spec.command and spec.command[0]):
            add(f"{path}.command", "must name a program to run, e.g. [python3, tools/lookup.py]")
        elif isinstance(spec, HttpToolSpec):
            _check_http(add, path, spec)
        elif isinstance(spec, McpToolSpec) and spec.server not in suite.mcp_servers:
            known = ", ".join(sorted(suite.mcp_servers)) or "none are declared"
            add(f"{path}.server", f"no MCP server {spec.server!r} under mcp_servers ({known})")
    for name, server in suite.mcp_servers.items():
        if not (server.command and server.command[0]):
            add(f"$.mcp_servers.{name}.command", "must name the server program to run")
        if server.start_timeout_ms <= 0:
            add(f"$.mcp_servers.{name}.start_timeout_ms", "must be greater than 0")
    _check_redact_and_match(add, suite)


def _check_retry(add: _Add, path: str, retry: ToolRetry) -> None:
    if retry.attempts < 1:
        add(f"{path}.attempts", f"must be 1 or more (tries in all), got {retry.attempts}")
    if retry.initial_backoff_ms < 0:
        add(f"{path}.initial_backoff_ms", "must be 0 or more")
    if retry.max_backoff_ms < retry.initial_backoff_ms:
        add(f"{path}.max_backoff_ms", "must be at least initial_backoff_ms")


def _check_http(add: _Add, path: str, spec: HttpToolSpec) -> None:
    if not spec.url.startswith(("http://", "https://")):
        add(f"{path}.url", f"must start with http:// or https://, got {spec.url!r}")
    for header, template in spec.headers_env.items():
        if not _ENV_REFERENCE.search(template):
            add(
                f"{path}.headers_env.{header}",
                "must read an environment variable, e.g. 'Bearer ${API_TOKEN}'; "
                "header values never come from the suite file",
            )


def _check_redact_and_match(add: _Add, suite: SuiteFile) -> None:

    for i, pattern in enumerate(suite.redact.patterns if suite.redact else []):
        try:
            compile_pattern(pattern)
        except ValueError as exc:
            add(f"$.redact.patterns[{i}]", f"{exc}; escape special characters with \\")
    for i, path in enumerate(suite.match.ignore_args if suite.match else []):
        try:
            parse_ignore_path(path)
        except ValueError as exc:
            add(f"$.match.ignore_args[{i}]", str(exc))


def bad_backend(value: Any, path: str) -> tuple[str, str] | None:
    """msgspec reports an unknown or missing `backend` at `$.tools[...].backend`, naming no
    tool: the (message, path) of the first tool whose backend is wrong, else None."""
    if path != "$.tools[...].backend" or not isinstance(value, dict):
        return None
    tools = value.get("tools")
    valid = ", ".join(TOOL_BACKENDS)
    for name, spec in tools.items() if isinstance(tools, dict) else ():
        backend = spec.get("backend") if isinstance(spec, dict) else None
        where = f"$.tools.{name}.backend"
        if backend is None:
            return f"missing required key; valid backends: {valid}", where
        if backend not in TOOL_BACKENDS:
            hint = did_you_mean(backend, TOOL_BACKENDS)
            return f"unknown backend {backend!r}; {hint}valid backends: {valid}", where
    return None
