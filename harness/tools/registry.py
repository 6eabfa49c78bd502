"""The suite's live tools: checked before any process starts, opened once per run.

`plan_tools` resolves every registry tool to a backend (`tools:` first, then RunLedger's
`tool_module` TOOLS dict) and reports what is missing as a config error. `open_tools` starts
what a run shares (the HTTP client, MCP servers, whose tools/list is checked) and closes it all
at the end, shielded.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.config.commands import python_element
from harness.config.schema import (
    DEFAULT_TOOL_TIMEOUT_MS,
    CommandToolSpec,
    HttpToolSpec,
    McpServerSpec,
    McpToolSpec,
    PythonToolSpec,
    Suite,
    ToolSpec,
)
from harness.config.yaml_source import display_path, read_yaml
from harness.errors import ConfigError
from harness.tools.backend import DEFAULT_RETRY, LiveAnswer, LiveTool, Redacts, ToolBackend
from harness.tools.command import CommandBackend
from harness.tools.http import HttpBackend, env_references, expand_headers, open_client
from harness.tools.mcp import McpBackend, McpServer
from harness.tools.python import PythonBackend, load_function, load_tool_module

_Factory = Callable[["_Shared"], ToolBackend]


@dataclass
class ToolPlan:
    """Checked tool settings: a factory per tool, called once the shared resources are open."""

    suite: Suite
    factories: dict[str, tuple[_Factory, ToolSpec | None]] = field(default_factory=dict)
    servers: dict[str, McpServerSpec] = field(default_factory=dict)
    needs_http: bool = False

    @property
    def header_env(self) -> list[str]:
        """Variables read into HTTP headers: their values are secrets."""

        return [
            name
            for _, spec in self.factories.values()
            if isinstance(spec, HttpToolSpec)
            for template in spec.headers_env.values()
            for name in env_references(template)
        ]


@dataclass
class _Shared:
    http_client: Any = None
    servers: dict[str, Any] = field(default_factory=dict)


class ToolSet:
    """Live tools by name, as the record, auto and live gateways call them."""

    def __init__(self, tools: Mapping[str, LiveTool]) -> None:
        self.tools = dict(tools)

    def kind(self, tool: str) -> str | None:
        live = self.tools.get(tool)
        return None if live is None else live.kind

    async def call(self, tool: str, args: dict[str, Any]) -> LiveAnswer:
        live = self.tools.get(tool)
        if live is None:
            return LiveAnswer(ok=False, error=f"no live backend for {tool!r}", unavailable=True)
        return await live.call(args)


def plan_tools(suite: Suite) -> ToolPlan:
    """Resolve a backend for every tool in tool_registry, importing Python tools now.

    Raises:
        ConfigError: a tool has no backend, a module or function cannot be loaded, an optional
            dependency is missing, or a header variable is unset.
    """
    plan = ToolPlan(suite)
    for name, spec in suite.tools.items():
        plan.factories[name] = (_factory(suite, name, spec, plan), spec)
    registry_tools = None
    missing = sorted(suite.tool_registry - plan.factories.keys())
    if missing and suite.tool_module:
        registry_tools = _tool_module(suite)
        for name in missing:
            if name in registry_tools:
                plan.factories[name] = (
                    _fixed(PythonBackend(registry_tools[name], style="args")),
                    None,
                )
    missing = sorted(suite.tool_registry - plan.factories.keys())
    if missing:
        where = (
            f"or add them to {suite.tool_module}.TOOLS"
            if suite.tool_module
            else ("or name a tool_module with a TOOLS dict")
        )
        raise _error(
            suite,
            "tool_registry",
            f"no live backend for {', '.join(missing)} (needed in {suite.mode.value} mode); "
            f"declare them under `tools:` {where}",
        )
    return plan


def _fixed(backend: ToolBackend) -> _Factory:
    return lambda _shared: backend


def _factory(suite: Suite, name: str, spec: ToolSpec, plan: ToolPlan) -> _Factory:
    field_path = f"tools.{name}"
    if isinstance(spec, PythonToolSpec):
        try:
            function = load_function(spec.function, suite.dir)
        except Exception as exc:  # the module's own import-time errors included
            raise _error(suite, f"{field_path}.function", _import_problem(exc)) from None
        backend = PythonBackend(function)
        return lambda _shared: backend
    if isinstance(spec, CommandToolSpec):
        command = CommandBackend(
            [_suite_path(suite.dir, part) for part in spec.command],
            cwd=_cwd(suite.dir, spec.cwd),
            env=spec.env,
        )
        return lambda _shared: command
    if isinstance(spec, HttpToolSpec):
        return _http_factory(suite, field_path, spec, plan)
    assert isinstance(spec, McpToolSpec)
    _require_module("mcp", suite, field_path, "mcp")
    plan.servers[spec.server] = suite.mcp_servers[spec.server]
    remote = spec.name or name

    def mcp_backend(shared: _Shared) -> ToolBackend:

        return McpBackend(shared.servers[spec.server], remote)

    return mcp_backend


def _http_factory(suite: Suite, field_path: str, spec: HttpToolSpec, plan: ToolPlan) -> _Factory:
    _require_module("httpx", suite, field_path, "http")

    try:
        headers = expand_headers(spec.headers_env, os.environ)
    except KeyError as exc:
        raise _error(
            suite,
            f"{field_path}.headers_env",
            f"environment variable {exc.args[0]} is not set; export it before recording",
        ) from None
    plan.needs_http = True
    return lambda shared: HttpBackend(shared.http_client, spec.url, headers)


def _tool_module(suite: Suite) -> Mapping[str, Any]:
    assert suite.tool_module is not None
    try:
        return load_tool_module(suite.tool_module, suite.dir)
    except Exception as exc:
        raise _error(suite, "tool_module", _import_problem(exc)) from None


def _require_module(module: str, suite: Suite, field_path: str, extra: str) -> None:

    if importlib.util.find_spec(module) is None:
        raise _error(
            suite,
            field_path,
            f"the {extra} backend needs the `{module}` package; pip install 'harness[{extra}]'",
        )


def _import_problem(exc: BaseException) -> str:
    if isinstance(exc, ModuleNotFoundError):
        return f"cannot import: {exc}; the module is looked up beside suite.yaml, then on sys.path"
    text = str(exc) or type(exc).__name__
    prefix = "" if isinstance(exc, ValueError | ImportError) else f"{type(exc).__name__}: "
    return f"cannot load: {prefix}{text}"


def _error(suite: Suite, field_path: str, message: str) -> ConfigError:
    """A config error at the line of `field_path` in suite.yaml (read again only now)."""
    shown = display_path(suite.file)
    line = None
    with contextlib.suppress(Exception):
        line = read_yaml(suite.file).line_of("$." + field_path)
    return ConfigError(shown, message, line=line, field=field_path)


def _suite_path(suite_dir: Path, element: str) -> str:
    # As for agent_command: `{python}` is the interpreter running harness, and an element
    # naming a file beside the suite becomes absolute.
    element = python_element(element)
    if not element or os.path.isabs(element) or not os.path.exists(suite_dir / element):
        return element
    return os.path.abspath(suite_dir / element)


def _cwd(suite_dir: Path, relative: str | None) -> Path:
    return suite_dir if relative is None else Path(os.path.abspath(suite_dir / relative))


@contextlib.asynccontextmanager
async def open_tools(
    plan: ToolPlan, *, redactor: Redacts, log_dir: Path | None
) -> AsyncIterator[ToolSet]:
    """Open what the run's tools share, yield the tool set, close it all on the way out.

    Raises:
        InfrastructureError: an MCP server did not start.
        ConfigError: a server does not offer a tool the suite maps to it.
    """
    stack = contextlib.AsyncExitStack()
    try:
        shared = _Shared()
        if plan.needs_http:
            shared.http_client = open_client()
            stack.push_async_callback(shared.http_client.aclose)
        await _start_servers(plan, shared, stack, redactor, log_dir)
        tools = {}
        for name, (factory, spec) in plan.factories.items():
            tools[name] = LiveTool(
                name=name,
                backend=factory(shared),
                timeout_ms=_timeout(spec),
                retry=(spec.retry if spec is not None and spec.retry else DEFAULT_RETRY),
            )
        yield ToolSet(tools)
    finally:
        # Not under a new shielded scope: the MCP SDK's task groups must exit under the scope
        # they were entered in. The SDK shields its own server shutdown, so Ctrl+C still
        # stops the server; the HTTP client's close does not wait on the network.
        await stack.aclose()


def _timeout(spec: ToolSpec | None) -> int:
    if spec is None or spec.timeout_ms is None:
        return DEFAULT_TOOL_TIMEOUT_MS
    return spec.timeout_ms


async def _start_servers(
    plan: ToolPlan,
    shared: _Shared,
    stack: contextlib.AsyncExitStack,
    redactor: Redacts,
    log_dir: Path | None,
) -> None:
    if not plan.servers:
        return

    suite = plan.suite
    for name, server_spec in plan.servers.items():
        server = McpServer(
            name,
            [_suite_path(suite.dir, part) for part in server_spec.command],
            cwd=_cwd(suite.dir, server_spec.cwd),
            env=server_spec.env,
            start_timeout_ms=server_spec.start_timeout_ms,
            log_path=None if log_dir is None else log_dir / f"mcp-{name}.stderr.log",
            redactor=redactor,
        )
        await server.start(stack)
        shared.servers[name] = server
    for tool, (_, spec) in plan.factories.items():
        if isinstance(spec, McpToolSpec):
            server = shared.servers[spec.server]
            remote = spec.name or tool
            if remote not in server.tools:
                offered = ", ".join(sorted(server.tools)) or "no tools"
                raise _error(
                    suite,
                    f"tools.{tool}",
                    f"MCP server {spec.server!r} has no tool {remote!r}; it offers {offered} "
                    "(set `name:` to the server's tool name)",
                )
