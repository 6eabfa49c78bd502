"""Run a suite: prepare, make the run's folder, run the attempts on the engine, finish."""

from __future__ import annotations

import signal

import anyio

from harness.attempt.spec import AttemptPlan
from harness.cassette.modes import Gateways, Tooling, open_gateways
from harness.errors import EXIT_OK, HarnessError
from harness.excerpts import redacting
from harness.execute.engine import Engine, make_engine
from harness.execute.events import RunEvents
from harness.execute.finish import finish_run
from harness.execute.folder import RunFolder, run_document
from harness.execute.options import DEFAULT_OUTPUT_DIR, RunOptions
from harness.execute.pool import STOP_INTERRUPTED
from harness.execute.prepare import Prepared, PreparedGate, prepare_gate, prepare_run
from harness.execute.report import RunReport
from harness.grading.options import grading_header
from harness.storage.runs import new_run_id


def run(options: RunOptions, events: RunEvents | None = None) -> RunReport:
    """Blocking entry point of the Python API."""
    return anyio.run(run_suite, options, events or RunEvents())


async def run_suite(
    options: RunOptions, events: RunEvents | None = None, *, handle_signals: bool = False
) -> RunReport:
    """Load and run a suite. Config problems raise ConfigError before any agent starts."""
    events = events or RunEvents()
    prepared = prepare_run(options, events)
    plan = prepared.plan
    events.plan_ready(plan)
    if not plan.attempts:
        return RunReport(run_dir=None, exit_code=EXIT_OK, status="validated", plan=plan)
    with redacting(prepared.tooling.redactor.text):  # every cut the run makes: redacted first
        return await _run_prepared(prepared, options, events, handle_signals)


async def _run_prepared(
    prepared: Prepared, options: RunOptions, events: RunEvents, handle_signals: bool
) -> RunReport:
    plan = prepared.plan
    gate = prepare_gate(options.gate, prepared.suite, plan.attempts)
    folder = _create_folder(prepared, options, gate, events)
    events.started(prepared.suite, folder.root, len(plan))
    for reused in gate.reused.values():  # --incremental: unchanged since they passed
        folder.add(reused)
    engine = make_engine(prepared, options, folder, gate.fingerprints.of)
    try:
        error = await _run_engine(
            engine, prepared.tooling, folder, gate.to_run(plan.attempts), handle_signals
        )
    finally:
        folder.close()
    return finish_run(folder, gate, options.gate, stop_reason=engine.stop_reason, error=error)


def _create_folder(
    prepared: Prepared, options: RunOptions, gate: PreparedGate, events: RunEvents
) -> RunFolder:
    suite = prepared.suite
    document = run_document(
        suite,
        prepared.plan,
        gate,
        run_id=new_run_id(),
        strict=prepared.strict,
        workers=prepared.workers,
        engine=options.engine,
        grading=grading_header(options.grade, options.grader_plugins),
    )
    return RunFolder.create(
        options.output_dir or suite.output_dir or DEFAULT_OUTPUT_DIR,
        document,
        suite=suite,
        plan=prepared.plan,
        events=events,
        redact=Gateways(prepared.tooling),
    )


async def _run_engine(
    engine: Engine,
    tooling: Tooling,
    folder: RunFolder,
    attempts: list[AttemptPlan],
    handle_signals: bool,
) -> HarnessError | None:
    """Run the attempts with the run's live tools open; returns the error that ended the run
    early (the disk filled up, a tool server went away), if one did."""
    try:
        async with anyio.create_task_group() as tasks:
            if handle_signals:
                tasks.start_soon(_watch_signals, engine)
            # Live tools (an MCP server) are started once per run, closed at the end.
            async with open_gateways(tooling, log_dir=folder.root / "tools") as tools:
                await engine.run(attempts, tools)
            tasks.cancel_scope.cancel()
    except HarnessError as exc:
        return exc
    except BaseExceptionGroup as group:
        matched, rest = group.split(HarnessError)
        if rest is not None or matched is None:
            raise
        return _first_leaf(matched)
    return None


def _first_leaf(group: BaseExceptionGroup[HarnessError]) -> HarnessError:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


async def _watch_signals(engine: Engine) -> None:
    """First Ctrl+C (or SIGTERM): stop scheduling, cancel running attempts (killed after the
    shutdown timeout at the latest) and keep what finished. Second: kill agents at once."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            if engine.stop_reason == STOP_INTERRUPTED:
                engine.kill_now()
            else:
                engine.stop(STOP_INTERRUPTED)
