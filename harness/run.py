"""Run a suite: load, plan, run attempts on the pool, write artifacts, decide the exit code."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import msgspec

from harness import __version__
from harness.agent.environment import agent_environment
from harness.agent.persistent import AgentSlots, reuse_agents
from harness.agent.process import is_shell_shim, resolve_executable
from harness.cassette.modes import Gateways, Tooling, open_gateways, prepare_tooling
from harness.config.loader import load_suite
from harness.config.schema import RetrySpec, Suite
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
from harness.gating import Gatekeeper, GateOptions
from harness.grading.engine import GradeOptions
from harness.grading.options import check_grade_options, grading_header
from harness.plan import Completeness, Plan, agent_argv, build_plan, parse_models
from harness.pool import (
    DEFAULT_SHUTDOWN_TIMEOUT_SECONDS,
    STOP_FAIL_FAST,
    STOP_INTERRUPTED,
    Pool,
    PoolSettings,
)
from harness.protocol.messages import PROTOCOL_VERSION
from harness.reports.summary import DisplayPaths, summary_rows
from harness.results import PASS, UNGRADED, AttemptResult
from harness.retry import DEFAULT_MAX_RETRIES, RetryPolicy
from harness.runner import AgentSpec, AttemptOutput, AttemptPlan, run_attempt
from harness.select import select_cases
from harness.storage.runs import RunDirectory, new_run_id
from harness.tally import FAILED_KEPT, RunTally

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
    # Sweeps (see harness.plan, harness.select, harness.retry, harness.pool)
    tags: tuple[str, ...] = ()  # `key=v1,v2` filters: AND across, OR within
    models: tuple[str, ...] = ()  # `a,b` entries; replace the suite's and cases' models
    runs: int | None = None  # trials per case and model; 0 validates only
    max_retries: int | None = None  # retries of infrastructure failures (default 2)
    fail_fast: bool = False
    shutdown_timeout_seconds: float = DEFAULT_SHUTDOWN_TIMEOUT_SECONDS
    agent_reuse: str | None = None  # never | per_worker; wins over the suite's agent_reuse
    engine: str = "local"  # local | ray (harness.engines.ray); --workers is per node with ray
    ray_address: str | None = None  # an existing Ray cluster; None starts a local one
    # Baseline, history, incremental runs, re-runs, reports (see harness.gating)
    gate: GateOptions = field(default_factory=GateOptions)
    # Grading (see harness.grading): --skip-grade, --threshold, --judge-*, --workspace
    grade: GradeOptions = field(default_factory=GradeOptions)
    workspace_dir: Path | None = None  # keep each attempt's workspace under DIR/<run_id>/
    grader_plugins: tuple[str, ...] = ()  # modules that register grader types
    allow_ineffective: bool = False  # run assertions that can never fail
    clean_env: bool = False  # agents get only the suite's agent_env_allow, else CLEAN_ENV


@dataclass
class RunReport:
    """What a run did.

    A run keeps no list of its results (a 10,000-attempt sweep would hold them all): `results`
    and `summary` are read from the run directory (results.jsonl, summary.json) on first access
    and then kept. `passed`, `count`, `first_failures` and `overview` (summary.json without its
    per-attempt rows; a sweep's pass@k curves are read-only Mappings there, computed when read)
    come from counts kept while the run went, and cost nothing.
    """

    run_dir: Path | None  # None when nothing ran (--runs 0 validates only)
    exit_code: int
    status: str  # finished | stopped | interrupted | error | validated
    # repr=False: asyncio formats the main task's result into a throwaway error message when
    # anyio.run ends (signal.getsignal on 3.11); with 10,000 results that repr was ~40 MB.
    overview: dict[str, Any] = field(default_factory=dict, repr=False)
    planned: int = 0
    plan: Plan | None = field(default=None, repr=False)
    completeness: Completeness | None = field(default=None, repr=False)
    stop_reason: str | None = None  # fail_fast | interrupted
    message: str | None = None  # why the run could not finish (status error)
    tally: RunTally | None = field(default=None, repr=False)
    rows: Callable[[], Iterable[dict[str, Any]]] | None = field(default=None, repr=False)
    _results: list[AttemptResult] | None = field(default=None, repr=False)
    _summary: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def results(self) -> list[AttemptResult]:
        """Every attempt's result, in the order they finished: read from results.jsonl on first
        access (so the run directory must still exist then), then kept."""
        if self._results is None:
            self._results = list(self.tally.results()) if self.tally is not None else []
        return self._results

    @property
    def summary(self) -> dict[str, Any]:
        """summary.json, per-attempt rows included: read on first access, then kept."""
        if self._summary is None:
            self._summary = self._read_summary()
        return self._summary

    def _read_summary(self) -> dict[str, Any]:
        if self.run_dir is None:
            return dict(self.overview)
        with contextlib.suppress(OSError, msgspec.DecodeError, UnicodeDecodeError):
            value = msgspec.json.decode((self.run_dir / "summary.json").read_bytes())
            if isinstance(value, dict):
                return value
        # summary.json could not be written (a full disk): the same rows, from results.jsonl.
        return {**self.overview, "cases": list(self.rows()) if self.rows is not None else []}

    @property
    def passed(self) -> int:
        return self.count(PASS)

    @property
    def finished(self) -> int:
        """Results written: attempts that finished, reused ones included."""
        return self.tally.total if self.tally is not None else len(self.results)

    def count(self, status: str) -> int:
        """Results with this status."""
        if self.tally is not None:
            return self.tally.statuses[status]
        return sum(1 for r in self.results if r.status == status)

    def first_failures(self) -> tuple[list[AttemptResult], int]:
        """The first results (up to FAILED_KEPT) that neither passed nor are ungraded, in the
        order they finished, and how many there are in all."""
        if self.tally is not None:
            return list(self.tally.failed), self.tally.failed_count
        failed = [r for r in self.results if r.status not in (PASS, UNGRADED)]
        return failed[:FAILED_KEPT], len(failed)

    def iter_results(self) -> Iterator[AttemptResult]:
        """Every result, in the order they finished, read one at a time (none kept)."""
        if self._results is not None or self.tally is None:
            return iter(self.results)
        return self.tally.results()


class RunEvents:
    """Hooks for a front end (the console); every method is optional to override."""

    def warning(self, message: str) -> None:
        pass

    def started(self, suite: Suite, run_dir: Path, planned: int) -> None:
        pass

    def attempt_finished(self, result: AttemptResult) -> None:
        pass

    def plan_ready(self, plan: Plan) -> None:
        pass

    def attempt_started(self, attempt: AttemptPlan) -> None:
        pass

    def attempt_retrying(
        self, attempt: AttemptPlan, result: AttemptResult, try_number: int
    ) -> None:
        pass

    #: When True the runner streams each agent's stderr and log messages to agent_output.
    wants_agent_output = False

    def agent_output(self, attempt: AttemptPlan, kind: str, text: str) -> None:
        pass


@dataclass(frozen=True)
class Prepared:
    """A loaded, selected and planned run: everything checked, nothing started."""

    suite: Suite
    plan: Plan
    agents: dict[str | None, AgentSpec]
    strict: bool
    workers: int
    retry: RetryPolicy
    tooling: Tooling | None = None  # record modes: live tools checked, redaction


def prepare_run(options: RunOptions, events: RunEvents | None = None) -> Prepared:
    """Load, select and plan; every config and usage problem is raised here, before any run
    directory or agent exists. `harness run --list` and `--runs 0` stop here."""
    events = events or RunEvents()
    check_grade_options(options.grade, options.grader_plugins)
    loaded = load_suite(
        options.suite, mode=options.mode, allow_ineffective=options.allow_ineffective
    )
    suite = select_cases(loaded, options.case_ids, options.tags)
    plan = build_plan(suite, models=parse_models(options.models), runs=options.runs)
    warned: set[str] = set()
    agents = {
        model: _agent_spec(suite, events, model, warned, clean_env=options.clean_env)
        for model in plan.models
    }
    workers = options.workers or default_workers()
    if workers < 1:
        raise UsageError("--workers must be at least 1")
    if options.shutdown_timeout_seconds < 0:
        raise UsageError("--shutdown-timeout must be 0 or more seconds")
    reuse_agents(options.agent_reuse, suite.agent_reuse)  # a bad --agent-reuse fails here
    if options.engine not in ("local", "ray"):
        raise UsageError(f"--engine: unknown engine {options.engine!r}; use local or ray")
    if options.engine != "local" and suite.mode.value != "replay":
        # Live tools and cassette writes belong to this machine; remote shards only replay.
        raise UsageError(
            f"--engine {options.engine} replays only; run --mode {suite.mode.value} "
            "with the local engine"
        )
    if options.engine == "ray":
        import importlib.util

        if importlib.util.find_spec("ray") is None:  # found without importing it
            raise UsageError("--engine ray needs Ray; install it with `pip install 'harness[ray]'`")
    strict = suite.strict if options.strict is None else options.strict
    return Prepared(
        suite=suite,
        plan=plan,
        agents=agents,
        strict=strict,
        workers=workers,
        retry=_retry_policy(suite.retry, options.max_retries),
        # Every case of the suite, not only those selected: a cassette shared with an
        # unselected case must keep that case's entries when recorded.
        tooling=prepare_tooling(suite, all_cases=loaded.cases, strict=strict),
    )


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
    slots = AgentSlots()
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

    async def run_one(attempt: AttemptPlan, try_number: int) -> AttemptOutput:
        return await run_attempt(
            attempt,
            prepared.agents[attempt.model],
            tool_registry=suite.tool_registry,
            strict=strict,
            stderr_path=paths(attempt)[1],
            on_output=(
                lambda kind, text: events.agent_output(attempt, kind, gateways.redactor.text(text))
            )
            if output_hook
            else None,
            agents=slots if reuse else None,
            gateway=gateways.for_case(attempt.case),
            redact_line=gateways.redact_line,
            grading=options.grade,
            keep_workspace_under=keep_workspaces,
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
                if options.engine == "ray":
                    from harness.engines.ray_engine import run_prepared

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
    summary = tally.summary.head(
        suite, run_id=run_id, mode=mode, interrupted=interrupted, planned=len(plan)
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
        from harness.reports.sweep import render_markdown

        summary["sweep"] = tally.sweep.summary()
    with contextlib.suppress(HarnessError):
        run_dir.write_json_streamed("summary.json", summary, "cases", rows())
        if tally.sweep is not None:
            markdown = render_markdown(suite.name, summary["sweep"], completeness)
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


def _retry_policy(spec: RetrySpec | None, max_retries: int | None) -> RetryPolicy:
    spec = spec or RetrySpec()
    if max_retries is not None and max_retries < 0:
        raise UsageError(f"--max-retries must be 0 or more, got {max_retries}")
    chosen = max_retries if max_retries is not None else spec.max_retries
    return RetryPolicy(
        max_retries=DEFAULT_MAX_RETRIES if chosen is None else chosen,
        initial_seconds=spec.initial_backoff_ms / 1000,
        max_seconds=spec.max_backoff_ms / 1000,
    )


def _agent_spec(
    suite: Suite,
    events: RunEvents,
    model: str | None = None,
    warned: set[str] | None = None,
    *,
    clean_env: bool = False,
) -> AgentSpec:
    argv = list(agent_argv(suite.agent_command, model))
    try:
        argv[0] = resolve_executable(argv[0], cwd=suite.agent_cwd)
    except SpawnError as exc:
        raise ConfigError(str(suite.file), exc.message, field="agent_command") from None
    warned = set() if warned is None else warned
    if argv[0] not in warned and is_shell_shim(argv[0]):
        warned.add(argv[0])
        events.warning(
            f"agent command {suite.agent_command[0]!r} resolves to a shell-script shim "
            f"({argv[0]}), which adds ~100 ms to every spawn; put a real interpreter first on PATH"
        )
    env = agent_environment(suite, clean=clean_env)
    return AgentSpec(
        argv=tuple(argv),
        cwd=suite.agent_cwd,
        env=env,
        max_line_bytes=suite.max_line_bytes,
        grace_seconds=suite.kill_grace_ms / 1000,
        retry_exit_codes=frozenset(suite.retry.exit_codes if suite.retry else ()),
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
