"""The MCP servers of a Vally environment behind harness's tool gateway: their tools are offered
to the agent as protocol tools, so every call is recorded in a cassette and can be replayed.

In live, record and auto modes each distinct server is started once a run (harness's MCP
backend, restarted if it dies) and its `tools/list` decides what a stimulus offers; record and
auto also write the list beside the cassettes, so replay offers the same tools without
starting anything. Cassettes live at `<cassette-dir>/<eval>/<model>/<stimulus>.jsonl`.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from harness.cassette.gateway import (
    AutoGateway,
    LiveGateway,
    RecordGateway,
    ReplayGateway,
    ToolGateway,
)
from harness.cassette.ignore import IgnoreArgs
from harness.cassette.keys import Matcher
from harness.cassette.recorder import CassetteRecorder
from harness.cassette.redact import Redactor
from harness.config.schema import Case, RecordMode
from harness.config.yaml_source import display_path
from harness.errors import ConfigError
from harness.storage.atomic import atomic_write
from harness.storage.runs import safe_name
from harness.tools.backend import DEFAULT_RETRY, LiveTool
from harness.tools.mcp import McpBackend
from harness.tools.mcp import McpServer as RunningServer
from harness.tools.registry import ToolSet
from harness.vally.model import EvalSpec, McpServer, Stimulus

CATALOGUE_FILE = "mcp-tools.json"
TOOL_TIMEOUT_MS = 60_000


def cassette_root(spec: EvalSpec, cassette_dir: Path | None) -> Path:
    return (cassette_dir or spec.folder / "cassettes") / safe_name(spec.name)


def cassette_path(spec: EvalSpec, model: str | None, stimulus: Stimulus, root: Path | None) -> Path:
    folder = cassette_root(spec, root) / safe_name(model or "default")
    return folder / f"{safe_name(stimulus.name)}.jsonl"


def _key(server: McpServer) -> str:
    return msgspec.json.encode([server.argv, server.env, str(server.cwd)]).decode()


@dataclass
class Toolbox:
    """What a run's trials call tools through."""

    mode: RecordMode
    cassette_dir: Path | None
    redactor: Redactor
    log_dir: Path | None = None
    running: dict[str, RunningServer] = field(default_factory=dict)
    recorder: CassetteRecorder | None = None

    def __post_init__(self) -> None:
        self.matcher = Matcher(self.redactor, IgnoreArgs([]))

    @contextlib.asynccontextmanager
    async def opened(
        self, specs: Iterable[EvalSpec], cases: Iterable[Case]
    ) -> AsyncIterator[Toolbox]:
        """Start the servers the run needs (none in replay mode); stop them at the end."""
        async with contextlib.AsyncExitStack() as stack:
            if self.mode is not RecordMode.replay:
                for spec in specs:
                    for stimulus in spec.stimuli:
                        for server in stimulus.environment.mcp_servers:
                            await self._start(server, stack)
                if self.mode is not RecordMode.live:
                    self.recorder = CassetteRecorder(
                        list(cases), redactor=self.redactor, kind_of=lambda _tool: "mcp"
                    )
                    for spec in specs:
                        self._write_catalogue(spec)
            yield self

    async def _start(self, server: McpServer, stack: contextlib.AsyncExitStack) -> None:
        key = _key(server)
        if key in self.running:
            return
        running = RunningServer(
            server.name,
            server.argv,
            cwd=server.cwd,
            env={name: expand(value) for name, value in server.env.items()},
            start_timeout_ms=server.start_timeout_ms,
            log_path=None
            if self.log_dir is None
            else self.log_dir / f"mcp-{safe_name(server.name)}.stderr.log",
            redactor=self.redactor,
        )
        await running.start(stack)
        self.running[key] = running

    def offered(self, spec: EvalSpec, stimulus: Stimulus) -> dict[str, list[str]]:
        """Server name -> the tool names a stimulus's agent is offered."""
        catalogue = None if self.mode is not RecordMode.replay else self._read_catalogue(spec)
        offered: dict[str, list[str]] = {}
        for server in stimulus.environment.mcp_servers:
            if catalogue is not None:
                names = catalogue.get(server.name, [])
            else:
                names = sorted(self.running[_key(server)].tools)
            allowed = server.tools
            offered[server.name] = [n for n in names if allowed is None or n in allowed]
        _check_unique(spec, stimulus, offered)
        return offered

    def gateway(self, case: Case, spec: EvalSpec, stimulus: Stimulus) -> ToolGateway:
        if self.mode is RecordMode.replay:
            return ReplayGateway(
                case.cassette_path, strict=False, case_id=case.id, matcher=self.matcher
            )
        tools = ToolSet(self._tools(spec, stimulus))
        if self.mode is RecordMode.live or self.recorder is None:
            return LiveGateway(tools, self.redactor)
        common: dict[str, Any] = {
            "recorder": self.recorder,
            "case_id": case.id,
            "cassette_path": case.cassette_path,
        }
        if self.mode is RecordMode.auto:
            return AutoGateway(tools, self.redactor, matcher=self.matcher, **common)
        return RecordGateway(tools, self.redactor, **common)

    def _tools(self, spec: EvalSpec, stimulus: Stimulus) -> dict[str, LiveTool]:
        tools = {}
        offered = self.offered(spec, stimulus)
        for server in stimulus.environment.mcp_servers:
            running = self.running[_key(server)]
            for name in offered[server.name]:
                backend = McpBackend(running, name)
                tools[name] = LiveTool(
                    name=name, backend=backend, timeout_ms=TOOL_TIMEOUT_MS, retry=DEFAULT_RETRY
                )
        return tools

    def _write_catalogue(self, spec: EvalSpec) -> None:
        catalogue: dict[str, list[str]] = {}
        for stimulus in spec.stimuli:
            for server in stimulus.environment.mcp_servers:
                catalogue[server.name] = sorted(self.running[_key(server)].tools)
        if catalogue:
            path = cassette_root(spec, self.cassette_dir) / CATALOGUE_FILE
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, msgspec.json.format(msgspec.json.encode(catalogue)) + b"\n")

    def _read_catalogue(self, spec: EvalSpec) -> dict[str, list[str]]:
        path = cassette_root(spec, self.cassette_dir) / CATALOGUE_FILE
        try:
            value = msgspec.json.decode(path.read_bytes(), type=dict[str, list[str]])
        except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise ConfigError(
                display_path(path),
                f"cannot read the recorded MCP tool list ({exc}); record first: "
                "harness vally eval --mode record",
            ) from None
        return value


def needs_catalogue(spec: EvalSpec) -> bool:
    return any(stimulus.environment.mcp_servers for stimulus in spec.stimuli)


def _check_unique(spec: EvalSpec, stimulus: Stimulus, offered: Mapping[str, list[str]]) -> None:
    seen: dict[str, str] = {}
    for server, names in offered.items():
        for name in names:
            if (other := seen.setdefault(name, server)) != server:
                raise ConfigError(
                    spec.shown,
                    f"stimulus {stimulus.name!r}: tool {name!r} is offered by both MCP servers "
                    f"{other!r} and {server!r}; give one a `tools:` allowlist without it",
                    line=stimulus.line,
                )


_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand(value: str) -> str:
    """`${NAME}` in a server's env read from harness's environment (a secret stays out of the
    spec, and out of the agent's environment: see server_credentials)."""
    return _REFERENCE.sub(lambda found: os.environ.get(found[1], ""), value)


def server_credentials(specs: Iterable[EvalSpec]) -> frozenset[str]:
    """Environment variables the MCP servers are given: the tools' secrets, never the agent's."""
    names: set[str] = set()
    for spec in specs:
        for stimulus in spec.stimuli:
            for server in stimulus.environment.mcp_servers:
                for value in server.env.values():
                    names.update(_REFERENCE.findall(value))
    return frozenset(name for name in names if name in os.environ)
