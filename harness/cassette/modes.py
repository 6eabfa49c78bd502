"""Per run: what the record mode needs (redaction, matching, live tools, the recorder) and the
gateway each attempt gets.

`prepare_tooling` checks everything before the run directory exists (a missing backend is a
config error, exit 2); `open_gateways` starts the live tools once per run (an MCP server that
will not start is an infrastructure error, exit 3) and closes them at the end, shielded.
Replay mode starts nothing and imports no tool code.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from harness.config.model_proxy import KEY_ENV
from harness.config.schema import Case, RecordMode, Suite
from harness.results import AttemptResult

if TYPE_CHECKING:
    from harness.tools.registry import ToolPlan, ToolSet


@dataclass(frozen=True)
class Tooling:
    """A run's checked record-mode settings; nothing started yet."""

    mode: RecordMode
    strict: bool
    redactor: Redactor
    matcher: Matcher
    all_cases: tuple[Case, ...]
    tool_plan: ToolPlan | None = None


def prepare_tooling(suite: Suite, *, all_cases: Sequence[Case], strict: bool) -> Tooling:
    """Check the suite's live tools (record, auto, live) and compile redaction and matching.

    Raises:
        ConfigError: a registry tool has no backend, a Python tool cannot be imported, ...
    """
    tool_plan = None
    if suite.mode is not RecordMode.replay:
        # lazy: replay never loads the live tool backends
        from harness.tools.registry import plan_tools

        tool_plan = plan_tools(suite)
    secret_env = [*(tool_plan.header_env if tool_plan else ())]
    if suite.model_proxy is not None:
        # The invoker's model keys, however short: harness forwards them, never stores them.
        secret_env += [KEY_ENV[api] for api in suite.model_proxy.apis if api in KEY_ENV]
    redactor = Redactor(suite.redact, os.environ, extra_env=secret_env)
    ignore = IgnoreArgs(suite.match.ignore_args if suite.match else [])
    return Tooling(
        mode=suite.mode,
        strict=strict,
        redactor=redactor,
        matcher=Matcher(redactor, ignore),
        all_cases=tuple(all_cases),
        tool_plan=tool_plan,
    )


class Gateways:
    """Makes each attempt's gateway, and redacts what the run writes."""

    def __init__(
        self,
        tooling: Tooling,
        tools: ToolSet | None = None,
        recorder: CassetteRecorder | None = None,
    ) -> None:
        self.tooling = tooling
        self.tools = tools
        self.recorder = recorder
        self.redactor = tooling.redactor

    def for_case(self, case: Case) -> ToolGateway:
        tooling, tools, recorder = self.tooling, self.tools, self.recorder
        if tooling.mode is RecordMode.live and tools is not None:
            return LiveGateway(tools, self.redactor)
        if tooling.mode is RecordMode.replay or tools is None or recorder is None:
            return ReplayGateway(
                case.cassette_path,
                strict=tooling.strict,
                case_id=case.id,
                matcher=tooling.matcher,
                project=case.project,
            )
        if tooling.mode is RecordMode.auto:
            return AutoGateway(
                tools,
                self.redactor,
                recorder=recorder,
                case_id=case.id,
                cassette_path=case.cassette_path,
                matcher=tooling.matcher,
                project=case.project,
            )
        return RecordGateway(
            tools,
            self.redactor,
            recorder=recorder,
            case_id=case.id,
            cassette_path=case.cassette_path,
            project=case.project,
        )

    def redact_events(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.redactor.clean(events):
            return events
        return [self.redactor.value(event) for event in events]

    def redact_result(self, result: AttemptResult) -> AttemptResult:
        return redact_result(self.redactor, result)


def redact_result(redactor: Redactor, result: AttemptResult) -> AttemptResult:
    """The result as it may be written: messages, tails and details redacted."""
    if redactor.clean(result):  # key rules too: stricter than needed, never looser
        return result
    raw = msgspec.to_builtins(result)
    # Key-name rules apply inside failures (their details hold args and results); the
    # result's own fields are typed counters and names (a tool called `token`), so only
    # their text is redacted, which keeps every type.
    redacted = {name: redactor.value(item, keys=name == "failures") for name, item in raw.items()}
    if redacted == raw:
        return result
    return msgspec.convert(redacted, AttemptResult)


@contextlib.asynccontextmanager
async def open_gateways(tooling: Tooling, *, log_dir: Path | None) -> AsyncIterator[Gateways]:
    """Start the run's live tools (if the mode uses them) and yield the gateway factory."""
    if tooling.tool_plan is None:
        yield Gateways(tooling)
        return
    # lazy: replay never loads the live tool backends
    from harness.tools.registry import open_tools

    async with open_tools(tooling.tool_plan, redactor=tooling.redactor, log_dir=log_dir) as tools:
        recorder = None
        if tooling.mode is not RecordMode.live:
            recorder = CassetteRecorder(
                tooling.all_cases, redactor=tooling.redactor, kind_of=tools.kind
            )
        yield Gateways(tooling, tools, recorder)
