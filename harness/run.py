"""Run a suite: load, plan, run attempts on the pool, write artifacts, decide the exit code."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from harness import __version__
from harness.agent.process import is_shell_shim, resolve_executable
from harness.config.loader import load_suite
from harness.config.schema import RecordMode, Suite
from harness.errors import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_INFRA,
    EXIT_INTERRUPTED,
    EXIT_OK,
    ConfigError,
    HarnessError,
    SpawnError,
    UsageError,
)
from harness.plan import build_plan
from harness.pool import run_pool
from harness.protocol.messages import PROTOCOL_VERSION
from harness.reports.junit import render_junit
from harness.reports.summary import build_summary
from harness.results import PASS, AttemptResult
from harness.runner import AgentSpec, AttemptOutput, AttemptPlan, run_attempt
from harness.storage.runs import RunDirectory, new_run_id

DEFAULT_OUTPUT_DIR = Path("harness_out")


def default_workers() -> int:
    return 2 * (os.cpu_count() or 1)


@dataclass(frozen=True)
class RunOptions:
    """What to run and how. Unset fields fall back to the suite file, then to defaults."""

    suite: str | Path
    mode: str | None = None
    case_ids: tuple[str, ...] = ()
    workers: int | None = None
    output_dir: Path | None = None
    strict: bool | None = None


@dataclass
class RunReport:
    run_dir: Path
    exit_code: int
    status: str  # finished | interrupted | error
    results: list[AttemptResult] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    planned: int = 0

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.status == PASS)


class RunEvents:
    """Hooks for a front end (the console); every method is optional to override."""

    def warning(self, message: str) -> None:
        pass

    def started(self, suite: Suite, run_dir: Path, planned: int) -> None:
        pass

    def attempt_finished(self, result: AttemptResult) -> None:
        pass


def run(options: RunOptions, events: RunEvents | None = None) -> RunReport:
    """Blocking entry point of the Python API."""
    return anyio.run(run_suite, options, events or RunEvents())


async def run_suite(
    options: RunOptions, events: RunEvents | None = None, *, handle_signals: bool = False
) -> RunReport:
    """Load and run a suite. Config problems raise ConfigError before any agent starts."""
    events = events or RunEvents()
    suite = load_suite(options.suite, mode=options.mode)
    suite = _select_cases(suite, options.case_ids)
    _check_mode(suite.mode)
    agent = _agent_spec(suite, events)
    strict = suite.strict if options.strict is None else options.strict
    workers = options.workers or default_workers()
    if workers < 1:
        raise UsageError("--workers must be at least 1")
    output_dir = options.output_dir or suite.output_dir or DEFAULT_OUTPUT_DIR
    run_id = new_run_id()
    run_dir = _create_run_dir(output_dir, suite.name, run_id)
    plans = build_plan(suite)
    header = _run_header(suite, run_id, strict, workers, len(plans))
    run_dir.write_json("run.json", {**header, "status": "started"})
    events.started(suite, run_dir.root, len(plans))

    results: list[AttemptResult] = []

    async def run_one(plan: AttemptPlan) -> AttemptOutput:
        return await run_attempt(
            plan,
            agent,
            tool_registry=suite.tool_registry,
            strict=strict,
            stderr_path=run_dir.stderr_path(plan.attempt_id),
        )

    def on_result(output: AttemptOutput) -> None:
        run_dir.append_trace(output.trace.events)
        run_dir.append_result(output.result)
        results.append(output.result)
        events.attempt_finished(output.result)

    interrupted = False
    infra_error: HarnessError | None = None
    try:
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tasks:
                if handle_signals:
                    tasks.start_soon(_watch_signals, scope)
                await run_pool(plans, workers=workers, run_one=run_one, on_result=on_result)
                tasks.cancel_scope.cancel()
        interrupted = scope.cancelled_caught
    except HarnessError as exc:
        infra_error = exc
    except BaseExceptionGroup as group:
        matched, rest = group.split(HarnessError)
        if rest is not None or matched is None:
            raise
        infra_error = _first_leaf(matched)
    finally:
        run_dir.close()

    return _finish(
        suite,
        run_dir,
        header,
        results,
        interrupted=interrupted,
        infra_error=infra_error,
        planned=len(plans),
    )


def _finish(
    suite: Suite,
    run_dir: RunDirectory,
    header: dict[str, Any],
    results: list[AttemptResult],
    *,
    interrupted: bool,
    infra_error: HarnessError | None,
    planned: int,
) -> RunReport:
    if interrupted:
        exit_code, status, reason = EXIT_INTERRUPTED, "interrupted", "interrupted"
    elif infra_error is not None:
        exit_code, status, reason = EXIT_INFRA, "error", "infrastructure_error"
    elif all(r.status == PASS for r in results):
        exit_code, status, reason = EXIT_OK, "finished", "all_passed"
    else:
        exit_code, status, reason = EXIT_FAILED, "finished", "cases_failed"
    summary = build_summary(
        suite,
        results,
        run_id=header["run_id"],
        mode=header["mode"],
        interrupted=interrupted,
        planned=planned,
    )
    with contextlib.suppress(HarnessError):
        run_dir.write_json("summary.json", summary)
        run_dir.write_bytes("junit.xml", render_junit(suite.name, results))
    final = {
        **header,
        "status": status,
        "exit_code": exit_code,
        "reason_code": reason,
        "message": str(infra_error) if infra_error else None,
        "attempts_finished": len(results),
        "passed": sum(1 for r in results if r.status == PASS),
        "finished_at": summary["generated_at"],
    }
    with contextlib.suppress(HarnessError):
        run_dir.write_json("run.json", final)
    return RunReport(
        run_dir=run_dir.root,
        exit_code=exit_code,
        status=status,
        results=results,
        summary=summary,
        planned=planned,
    )


def _first_leaf(group: BaseExceptionGroup[HarnessError]) -> HarnessError:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


async def _watch_signals(scope: anyio.CancelScope) -> None:
    """First Ctrl+C (or SIGTERM): stop and keep what finished. Second: kill agents at once."""
    from harness.agent.process import kill_all_groups

    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            if scope.cancel_called:
                kill_all_groups()
            else:
                scope.cancel()


def _select_cases(suite: Suite, wanted: tuple[str, ...]) -> Suite:
    if not wanted:
        return suite
    known = {case.id for case in suite.cases}
    unknown = [case_id for case_id in wanted if case_id not in known]
    if unknown:
        raise UsageError(
            f"--case: unknown case id(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    import msgspec

    chosen = tuple(case for case in suite.cases if case.id in set(wanted))
    return msgspec.structs.replace(suite, cases=chosen)


def _check_mode(mode: RecordMode) -> None:
    if mode is not RecordMode.replay:
        raise UsageError(
            f"mode {mode.value!r}: live tool backends are not available in this build; "
            "run with --mode replay"
        )


def _agent_spec(suite: Suite, events: RunEvents) -> AgentSpec:
    argv = list(suite.agent_command)
    try:
        argv[0] = resolve_executable(argv[0], cwd=suite.agent_cwd)
    except SpawnError as exc:
        raise ConfigError(str(suite.file), exc.message, field="agent_command") from None
    if is_shell_shim(argv[0]):
        events.warning(
            f"agent command {suite.agent_command[0]!r} resolves to a shell-script shim "
            f"({argv[0]}), which adds ~100 ms to every spawn; put a real interpreter first on PATH"
        )
    env = {**os.environ, **suite.agent_env} if suite.agent_env else None
    return AgentSpec(
        argv=tuple(argv),
        cwd=suite.agent_cwd,
        env=env,
        max_line_bytes=suite.max_line_bytes,
        grace_seconds=suite.kill_grace_ms / 1000,
    )


def _create_run_dir(output_dir: Path, suite_name: str, run_id: str) -> RunDirectory:
    try:
        return RunDirectory.create(output_dir, suite_name, run_id)
    except OSError as exc:
        from harness.errors import InfrastructureError

        raise InfrastructureError(
            f"{output_dir}: cannot create the run directory: {exc.strerror or exc}"
        ) from exc


def _run_header(
    suite: Suite, run_id: str, strict: bool, workers: int, planned: int
) -> dict[str, Any]:
    import datetime as dt

    return {
        "run_id": run_id,
        "suite": suite.name,
        "suite_path": str(suite.dir),
        "mode": suite.mode.value,
        "strict": strict,
        "workers": workers,
        "attempts_planned": planned,
        "started_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "versions": {
            "harness": __version__,
            "python": sys.version.split()[0],
            "platform": sys.platform,
            "protocol": PROTOCOL_VERSION,
        },
        "argv": sys.argv,
        "exit_code_meaning": {
            str(EXIT_OK): "all passed",
            str(EXIT_FAILED): "a case failed",
            str(EXIT_CONFIG): "config or usage error",
            str(EXIT_INFRA): "infrastructure error",
            str(EXIT_INTERRUPTED): "interrupted",
        },
    }
