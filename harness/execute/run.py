"""Run a suite: load, plan, run attempts on the pool, write artifacts, decide the exit code."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio

from harness._version import __version__
from harness.aggregate.tally import RunTally
from harness.attempt.context import AttemptContext, AttemptOutput
from harness.attempt.persistent import KeptProcesses, reuse_agents
from harness.attempt.run import run_attempt
from harness.attempt.spec import AttemptPlan
from harness.cassette.modes import Gateways, open_gateways, prepare_tooling
from harness.config.schema import Suite
from harness.errors import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_INFRA,
    EXIT_INTERRUPTED,
    EXIT_OK,
    HarnessError,
)
from harness.execute.events import RunEvents
from harness.execute.gatekeeper import Gatekeeper
from harness.execute.options import DEFAULT_OUTPUT_DIR, RunOptions
from harness.execute.pool import (
    STOP_FAIL_FAST,
    STOP_INTERRUPTED,
    Pool,
    PoolSettings,
)
from harness.execute.prepare import prepare_run
from harness.execute.report import RunReport
from harness.grading.options import grading_header
from harness.plan.build import Plan
from harness.protocol.messages import PROTOCOL_VERSION
from harness.reports.summary import DisplayPaths, summary_head, summary_rows
from harness.results import PASS, UNGRADED
from harness.storage.runs import RunDirectory, new_run_id


def run(options: RunOptions, events: RunEvents | None = None) -> RunReport:
    """Blocking entry point of the Python API."""
    return anyio.run(run_suite, options, events or RunEvents())


async def run_suite(
    options: RunOptions, events: RunEvents | None = None, *, handle_signals: bool = False
) -> RunReport:
    """Load and run a suite. Config problems raise ConfigError before any agent starts."""
    events = events or RunEvents()
    prepared = prepare_run(options, events)
    suite, plan, strict, workers = prepared.suite, prepared.plan, prepared.strict, prepared.workers
    events.plan_ready(plan)
    if not plan.attempts:
        return RunReport(run_dir=None, exit_code=EXIT_OK, status="validated", plan=plan)
    keeper = Gatekeeper.prepare(options.gate, suite, plan.attempts, events.warning)
    output_dir = options.output_dir or suite.output_dir or DEFAULT_OUTPUT_DIR
    run_id = new_run_id()
    run_dir = _create_run_dir(output_dir, suite.name, run_id)
    header = _run_header(suite, run_id, strict, workers, len(plan))
    header.update(models=[m for m in plan.models if m is not None], runs=plan.runs)
    header.update(keeper.header())
    header.update(engine=options.engine)
    header["grading"] = grading_header(options.grade, options.grader_plugins)
    # Absolute, so results name a folder `harness grade` finds from any cwd.
    if options.workspace_dir is not None:
        keep_workspaces: Path | None = options.workspace_dir.absolute() / run_id
    else:
        keep_workspaces = run_dir.root.absolute() / "workspaces" if options.grade.skip else None
    run_dir.write_json("run.json", {**header, "status": "started"})
    events.started(suite, run_dir.root, len(plan))

    # Results go to results.jsonl as they come; memory keeps only counts and offsets.
    tally = RunTally(plan, run_dir.root / "results.jsonl")
    output_hook = events.wants_agent_output
    slots = KeptProcesses()
    reuse = reuse_agents(options.agent_reuse, suite.agent_reuse)

    def paths(attempt: AttemptPlan) -> tuple[Path | None, Path]:
        """(the attempt's folder in a sweep, its stderr log)."""
        if not plan.sweep:
            return None, run_dir.stderr_path(attempt.attempt_id)
        folder = run_dir.attempt_dir(attempt.case.id, attempt.model, attempt.trial)
        return folder, folder / "stderr.log"

    tooling = prepared.tooling or prepare_tooling(suite, all_cases=suite.cases, strict=strict)
    # Replay's until the live tools are open; rebound then (attempts start only after that).
    gateways = Gateways(tooling)

    def attempt_context(gateways: Gateways) -> AttemptContext:
        return AttemptContext(
            tool_registry=suite.tool_registry,
            strict=strict,
            grading=options.grade,
            host=slots if reuse else None,
            keep_workspace_under=keep_workspaces,
            redact_line=gateways.redact_line,
            gateway_for=gateways.for_case,
        )

    context = attempt_context(gateways)

    async def run_one(attempt: AttemptPlan, try_number: int) -> AttemptOutput:
        on_output = None
        if output_hook:

            def on_output(kind: str, text: str) -> None:
                events.agent_output(attempt, kind, gateways.redactor.text(text))

        return await run_attempt(
            attempt,
            prepared.agents[attempt.model],
            context,
            stderr_path=paths(attempt)[1],
            on_output=on_output,
        )

    def on_retry(attempt: AttemptPlan, output: AttemptOutput, try_number: int) -> str | None:
        # Keep the failed try's stderr beside the final one instead of appending to it.
        events.attempt_retrying(attempt, output.result, try_number)
        stderr = paths(attempt)[1]
        if output.result.stderr_path is None or not stderr.exists():
            return None
        kept = stderr.with_name(f"stderr.try-{try_number}.log")
        with contextlib.suppress(OSError):
            os.replace(stderr, kept)
            return str(kept)
        return None

    def on_result(output: AttemptOutput) -> None:
        # Redacted before anything is written or reported: secrets never reach disk.
        result = gateways.redact_result(output.result)
        trace_events = gateways.redact_events(output.trace.events)
        run_dir.append_trace(trace_events)
        if plan.sweep:
            folder = run_dir.attempt_dir(result.case_id, result.model, result.trial)
            run_dir.write_transcript(folder, trace_events)
        tally.add(result, run_dir.append_result(result))
        events.attempt_finished(result)

    for reused in keeper.reused.values():  # --incremental: unchanged since they passed
        tally.add(reused, run_dir.append_result(reused))
        events.attempt_finished(reused)

    pool = Pool(
        PoolSettings(
            workers=workers,
            retry=prepared.retry,
            fail_fast=options.fail_fast,
            shutdown_timeout_seconds=options.shutdown_timeout_seconds,
        ),
        keeper.wrap(run_one),
        on_result,
        on_start=events.attempt_started,
        on_retry=on_retry,
    )
    infra_error: HarnessError | None = None
    try:
        async with anyio.create_task_group() as tasks:
            if handle_signals:
                tasks.start_soon(_watch_signals, pool)
            # Live tools (an MCP server) are started once per run, closed at the end.
            async with open_gateways(tooling, log_dir=run_dir.root / "tools") as opened, slots:
                gateways = opened
                context = attempt_context(opened)
                if options.engine == "ray":
                    from harness.execute.ray_engine import run_prepared

                    await run_prepared(
                        prepared,
                        options,
                        list(keeper.to_run(plan.attempts)),
                        reuse=reuse,
                        on_result=on_result,
                        stderr_path=lambda attempt: paths(attempt)[1],
                        pool=pool,
                    )
                else:
                    await pool.run(keeper.to_run(plan.attempts))
            tasks.cancel_scope.cancel()
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
        tally,
        plan=plan,
        stop_reason=pool.stop_reason,
        infra_error=infra_error,
        keeper=keeper,
    )


def _finish(
    suite: Suite,
    run_dir: RunDirectory,
    header: dict[str, Any],
    tally: RunTally,
    *,
    plan: Plan,
    stop_reason: str | None,
    infra_error: HarnessError | None,
    keeper: Gatekeeper,
) -> RunReport:
    """Exit code, summary.json, summary.md, run.json, the gate, history and reports. Each
    reads the results back from results.jsonl one at a time (see harness.tally)."""
    interrupted = stop_reason == STOP_INTERRUPTED
    completeness = tally.index.completeness(plan)
    if interrupted:
        exit_code, status, reason = EXIT_INTERRUPTED, "interrupted", "interrupted"
    elif infra_error is not None:
        # A config problem found only once tools started (an MCP server lacks a tool) is 2.
        exit_code, status, reason = infra_error.exit_code, "error", "infrastructure_error"
    elif stop_reason == STOP_FAIL_FAST:
        exit_code, status, reason = EXIT_FAILED, "stopped", "fail_fast"
    elif not completeness.complete:
        # Not stopped, yet a planned attempt has no result or two: a bug, never a green run.
        exit_code, status, reason = EXIT_INFRA, "error", "results_incomplete"
    elif tally.grader_error:
        # A judge or grader that could not run says nothing about the agent: infrastructure.
        exit_code, status, reason = EXIT_INFRA, "finished", "grader_error"
    elif tally.all_passed:
        exit_code, status, reason = EXIT_OK, "finished", "all_passed"
    elif tally.all_passed_or_ungraded:
        exit_code, status, reason = EXIT_OK, "finished", "ungraded"
    else:
        exit_code, status, reason = EXIT_FAILED, "finished", "cases_failed"
    run_id, mode = header["run_id"], header["mode"]
    summary = summary_head(
        tally.summary, suite, run_id=run_id, mode=mode, interrupted=interrupted, planned=len(plan)
    )
    summary["run"]["completeness"] = completeness.to_json()
    # Ungraded attempts (--skip-grade) have no verdict to gate: a run with any is gated by
    # `harness grade`, once graded, never here with ungraded cases counted as failures.
    gated = status == "finished" and not tally.statuses[UNGRADED]

    display = DisplayPaths()  # each cassette path resolved once for every pass over the rows

    def rows() -> Iterator[dict[str, Any]]:
        return summary_rows(tally.index, annotate=gated, display=display)

    if gated:
        exit_code, reason = keeper.judge(
            rows(), tally.unit_sizes, summary, exit_code, reason, tally.wall_ms_as_rows
        )
    if tally.sweep is not None:
        from harness.reports.sweep import render_sweep_markdown

        summary["sweep"] = tally.sweep.summary()
    with contextlib.suppress(HarnessError):
        run_dir.write_json_streamed("summary.json", summary, "cases", rows())
        if tally.sweep is not None:
            markdown = render_sweep_markdown(suite.name, summary["sweep"], completeness)
            run_dir.write_bytes("summary.md", markdown.encode())
    final = {
        **header,
        "status": status,
        "exit_code": exit_code,
        "reason_code": reason,
        "message": str(infra_error) if infra_error else None,
        "attempts_finished": tally.total,
        "passed": tally.statuses[PASS],
        "trials_lost": completeness.lost,
        "complete": completeness.complete,
        "finished_at": summary["generated_at"],
    }
    with contextlib.suppress(HarnessError):
        run_dir.write_json("run.json", final)
    overview = {key: value for key, value in summary.items() if key != "cases"}
    keeper.finish(run_dir.root, final, overview, tally, rows)
    return RunReport(
        run_dir=run_dir.root,
        exit_code=exit_code,
        status=status,
        overview=overview,
        planned=len(plan),
        plan=plan,
        completeness=completeness,
        stop_reason=stop_reason,
        message=str(infra_error) if infra_error else None,
        tally=tally,
        rows=rows,
    )


def _first_leaf(group: BaseExceptionGroup[HarnessError]) -> HarnessError:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


async def _watch_signals(pool: Pool) -> None:
    """First Ctrl+C (or SIGTERM): stop scheduling, cancel running attempts (killed after the
    shutdown timeout at the latest) and keep what finished. Second: kill agents at once."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            if pool.stop_reason == STOP_INTERRUPTED:
                pool.kill_now()
            else:
                pool.stop(STOP_INTERRUPTED)


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
