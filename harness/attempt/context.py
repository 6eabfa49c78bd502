"""What every attempt of a run shares (AttemptContext, built once a run) and what an attempt
returns (AttemptOutput)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from harness.agent.session import StreamRedactor
from harness.attempt.host import AgentHost
from harness.attempt.trace import Trace
from harness.cassette.gateway import ReplayGateway, ToolGateway
from harness.config.schema import Case
from harness.grading.engine import GradeOptions
from harness.results import AttemptResult

if TYPE_CHECKING:
    # the proxy loads only in suites with model_proxy
    from harness.proxy.session import ModelSession


@dataclass(frozen=True)
class AttemptContext:
    """The run's settings every attempt reads; nothing in it changes while the run goes."""

    tool_registry: frozenset[str]
    strict: bool
    grading: GradeOptions = field(default_factory=GradeOptions)
    # Where agents run; None: a process of each attempt's own (harness.attempt.host).
    host: AgentHost | None = None
    # Keep each attempt's workspace in a folder of this one (else it goes when graded).
    keep_workspace_under: Path | None = None
    # Masks secrets in each stderr line before it reaches the log.
    redact_stderr: StreamRedactor | None = None
    # The gateway that answers a case's tool calls; None: replay the case's cassette.
    gateway_for: Callable[[Case], ToolGateway] | None = None
    # The model calls' session of an attempt (gateway, attempt id); None: no model_proxy.
    model_for: Callable[[ToolGateway, Case, str], ModelSession] | None = None

    def gateway(self, case: Case) -> ToolGateway:
        if self.gateway_for is not None:
            return self.gateway_for(case)
        return ReplayGateway(case.cassette_path, strict=self.strict, project=case.project)


@dataclass
class AttemptOutput:
    result: AttemptResult
    trace: Trace
    retryable: bool = False  # an infrastructure failure that another try may not have
