"""Engines run a run's attempts and hand each result to the run's folder: `LocalEngine` on this
machine over the worker pool, `RayEngine` (harness.execute.ray_engine, `--engine ray`) in shards
on a Ray cluster.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from harness.attempt.context import AttemptContext, AttemptOutput
from harness.attempt.forked import ForkServers
from harness.attempt.host import AgentHost, agent_reuse
from harness.attempt.persistent import KeptProcesses
from harness.attempt.run import run_attempt
from harness.attempt.spec import AttemptPlan, OutputHook
from harness.cassette.modes import Gateways
from harness.execute.folder import RunFolder
from harness.execute.options import RunOptions
from harness.execute.pool import Pool, PoolSettings
from harness.execute.prepare import Prepared
from harness.execute.reruns import with_reruns

if TYPE_CHECKING:
    from harness.cassette.gateway import ToolGateway
    from harness.config.schema import Case
    from harness.proxy.server import ModelProxy
    from harness.proxy.session import ModelSession


class Engine(Protocol):
    """Runs attempts until done or stopped; `stop` and `kill_now` are the two Ctrl+Cs."""

    @property
    def stop_reason(self) -> str | None:
        """Why the run stopped early (harness.execute.pool's STOP_*), or None."""
        ...

    def stop(self, reason: str) -> None:
        """Stop scheduling and end what runs, keeping what finished."""
        ...

    def kill_now(self) -> None:
        """Kill every agent at once."""
        ...

    async def run(self, attempts: Sequence[AttemptPlan], tools: Gateways) -> None:
        """Run `attempts` with the run's live tools (open by now), each result to the folder."""
        ...


def make_engine(
    prepared: Prepared,
    options: RunOptions,
    folder: RunFolder,
    fingerprint: Callable[[AttemptPlan], str],
) -> Engine:
    """The engine `--engine` names (prepare_run has checked the name)."""
    if options.engine == "ray":
        # Imported here: Ray (a second of imports) loads only with --engine ray.
        from harness.execute.ray_engine import RayEngine

        return RayEngine(prepared, options, folder)
    return LocalEngine(prepared, options, folder, fingerprint)


class LocalEngine:
    """Attempts on this machine over the worker pool: retries of infrastructure failures,
    re-runs of failed attempts, agents kept per worker (`agent_reuse: per_worker`) or forked
    from a server per agent command (`fork`)."""

    def __init__(
        self,
        prepared: Prepared,
        options: RunOptions,
        folder: RunFolder,
        fingerprint: Callable[[AttemptPlan], str],
    ) -> None:
        self.prepared = prepared
        self.options = options
        self.folder = folder
        self.fingerprint = fingerprint
        self.reuse = agent_reuse(options.agent_reuse, prepared.suite.agent_reuse)
        self.slots = KeptProcesses()
        self.forks = ForkServers(note=folder.note)
        self.keep_workspaces = _keep_workspaces(options, folder)
        settings = PoolSettings(
            workers=prepared.workers,
            retry=prepared.retry,
            fail_fast=options.fail_fast,
            shutdown_timeout_seconds=options.shutdown_timeout_seconds,
        )
        events = folder.events
        self.pool = Pool(settings, on_start=events.attempt_started, on_retry=self._on_retry)

    @property
    def stop_reason(self) -> str | None:
        return self.pool.stop_reason

    def stop(self, reason: str) -> None:
        self.pool.stop(reason)

    def kill_now(self) -> None:
        self.pool.kill_now()

    async def run(self, attempts: Sequence[AttemptPlan], tools: Gateways) -> None:
        settings = self.prepared.model_proxy
        if settings is None:
            await self._run(attempts, tools, None)
            return
        # lazy: only suites with model_proxy load the proxy (h11, and httpx when recording)
        from harness.proxy.server import open_model_proxy

        async with open_model_proxy(settings) as proxy:
            await self._run(attempts, tools, proxy)

    async def _run(
        self, attempts: Sequence[AttemptPlan], tools: Gateways, proxy: ModelProxy | None
    ) -> None:
        context = AttemptContext(
            tool_registry=self.prepared.suite.tool_registry,
            strict=self.prepared.strict,
            grading=self.options.grade,
            host=self._host(),
            keep_workspace_under=self.keep_workspaces,
            redact_stderr=tools.redactor,
            gateway_for=tools.for_case,
            model_for=None if proxy is None else _sessions(proxy),
        )

        async def run_one(attempt: AttemptPlan, try_number: int) -> AttemptOutput:
            return await run_attempt(
                attempt,
                self.prepared.agents[attempt.model],
                context,
                stderr_path=self.folder.stderr_path(attempt),
                on_output=self._output_hook(attempt, tools),
            )

        rerun = with_reruns(
            run_one,
            self.options.gate.rerun_failures,
            self.fingerprint,
            on_rerun=self.folder.events.attempt_rerunning,
        )
        async with contextlib.AsyncExitStack() as hosts:
            if self.reuse == "per_worker":
                await hosts.enter_async_context(self.slots)
            elif self.reuse == "fork":
                await hosts.enter_async_context(self.forks)
                # Before any attempt: a preload that does not import is a config error.
                suite = self.prepared.suite
                await self.forks.start(self.prepared.agents.values(), suite.preload, suite.file)
            await self.pool.run(attempts, rerun, self.folder.write)

    def _host(self) -> AgentHost | None:
        if self.reuse == "per_worker":
            return self.slots
        return self.forks if self.reuse == "fork" else None

    def _output_hook(self, attempt: AttemptPlan, tools: Gateways) -> OutputHook | None:
        events = self.folder.events
        if not events.wants_agent_output:
            return None

        def on_output(kind: str, text: str) -> None:
            events.agent_output(attempt, kind, tools.redactor.text(text))

        return on_output

    def _on_retry(self, attempt: AttemptPlan, output: AttemptOutput, try_number: int) -> str | None:
        self.folder.events.attempt_retrying(attempt, output.result, try_number)
        return self.folder.keep_failed_try(attempt, output, try_number)


def _sessions(proxy: ModelProxy) -> Callable[[ToolGateway, Case, str], ModelSession]:
    def model_for(gateway: ToolGateway, case: Case, attempt_id: str) -> ModelSession:
        return proxy.session(gateway, case.budgets, attempt_id)

    return model_for


def _keep_workspaces(options: RunOptions, folder: RunFolder) -> Path | None:
    """Where attempts keep their workspaces (--workspace, or --skip-grade to grade them later).
    Absolute, so results name a folder `harness grade` finds from any cwd."""
    if options.workspace_dir is not None:
        return options.workspace_dir.absolute() / folder.document.run_id
    return folder.root.absolute() / "workspaces" if options.grade.skip else None
