"""Load, select and plan a run, and load what gates it: every config and usage problem is found
here, before any run directory or agent exists."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.agent.environment import agent_environment
from harness.agent.process import is_shell_shim, resolve_executable
from harness.attempt.host import agent_reuse
from harness.attempt.spec import AgentSpec, AttemptPlan
from harness.cassette.modes import Tooling, prepare_tooling
from harness.config.containment import PathOutsideProject
from harness.config.schema import RetrySpec, Suite
from harness.errors import ConfigError, SpawnError, UsageError
from harness.execute.events import RunEvents
from harness.execute.options import GateOptions, RunOptions, default_workers
from harness.execute.retry import DEFAULT_MAX_RETRIES, RetryPolicy
from harness.execute.reuse import Fingerprints, reusable
from harness.gate.baseline import Baseline, check_same_suite, load_baseline
from harness.gate.keeper import Gatekeeper
from harness.grading.options import check_grade_options
from harness.plan.build import Plan, agent_argv, build_plan, parse_models
from harness.plan.load import load_suite
from harness.plan.select import select_cases
from harness.results import AttemptResult
from harness.storage.fingerprint import git_sha
from harness.storage.history import History, resolve_db

if TYPE_CHECKING:
    from harness.proxy.settings import ProxySettings

ENGINES = ("local", "ray")


@dataclass(frozen=True)
class Prepared:
    """A loaded, selected and planned run: everything checked, nothing started."""

    suite: Suite
    plan: Plan
    agents: dict[str | None, AgentSpec]
    strict: bool
    workers: int
    retry: RetryPolicy
    tooling: Tooling  # record modes: live tools checked, redaction
    model_proxy: ProxySettings | None = None  # the suite's `model_proxy:`, resolved


def prepare_run(options: RunOptions, events: RunEvents | None = None) -> Prepared:
    """Load, select and plan; every config and usage problem is raised here, before any run
    directory or agent exists. `harness run --list` and `--runs 0` stop here."""
    events = events or RunEvents()
    check_grade_options(options.grade, options.grader_plugins)
    loaded = load_suite(
        options.suite,
        mode=options.mode,
        allow_ineffective=options.allow_ineffective,
        project_root=options.project_root,
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
    agent_reuse(options.agent_reuse, suite.agent_reuse)  # a bad --agent-reuse fails here
    _check_engine(options.engine, suite)
    _check_gate_flags(options.gate)
    strict = suite.strict if options.strict is None else options.strict
    # Every case of the suite, not only those selected: a cassette shared with an unselected
    # case must keep that case's entries when recorded.
    tooling = prepare_tooling(suite, all_cases=loaded.cases, strict=strict)
    return Prepared(
        suite=suite,
        plan=plan,
        agents=agents,
        strict=strict,
        workers=workers,
        retry=_retry_policy(suite.retry, options.max_retries),
        tooling=tooling,
        model_proxy=_model_proxy(suite, tooling, strict),
    )


def _model_proxy(suite: Suite, tooling: Tooling, strict: bool) -> ProxySettings | None:
    if suite.model_proxy is None:
        return None
    if suite.mode.value != "replay" and importlib.util.find_spec("httpx") is None:
        raise UsageError(
            f"--mode {suite.mode.value}: model_proxy calls the providers with httpx; install it "
            "with `pip install 'harness[models]'` (replay needs nothing more)"
        )
    # lazy: only suites with model_proxy load the proxy
    from harness.proxy.settings import proxy_settings

    return proxy_settings(
        suite.model_proxy, mode=suite.mode, strict=strict, redactor=tooling.redactor
    )


def validate_run(options: RunOptions, events: RunEvents | None = None) -> Prepared:
    """prepare_run, and the baseline the run would be gated on: every check a run makes before
    it starts, with nothing written (`harness validate`, `--runs 0`, `--list`)."""
    prepared = prepare_run(options, events)
    _baseline(options.gate, prepared.suite)
    return prepared


def _check_engine(engine: str, suite: Suite) -> None:
    if engine not in ENGINES:
        raise UsageError(f"--engine: unknown engine {engine!r}; use local or ray")
    if engine != "local" and suite.mode.value != "replay":
        # Live tools and cassette writes belong to this machine; remote shards only replay.
        raise UsageError(
            f"--engine {engine} replays only; run --mode {suite.mode.value} with the local engine"
        )
    if engine != "local" and suite.model_proxy is not None:
        # said before whether Ray is installed: installing it would not help
        raise UsageError(f"--engine {engine}: model_proxy runs with the local engine only")
    if engine == "ray" and importlib.util.find_spec("ray") is None:  # found without importing
        raise UsageError("--engine ray needs Ray; install it with `pip install 'harness[ray]'`")


def _check_gate_flags(options: GateOptions) -> None:
    if options.rerun_failures < 0:
        raise UsageError(f"--rerun-failures must be 0 or more, got {options.rerun_failures}")
    if options.baseline is not None and options.export_baseline is not None:
        raise UsageError("--baseline and --export-baseline are exclusive: gate, or export")


@dataclass(frozen=True)
class PreparedGate:
    """What gates a run, loaded before it starts: a bad baseline or history database is exit 2
    with nothing started."""

    keeper: Gatekeeper
    history: History | None  # None: --db '' keeps no history
    fingerprints: Fingerprints
    reused: dict[str, AttemptResult]  # --incremental: attempt id -> its reused result
    git_sha: str | None

    def to_run(self, attempts: Sequence[AttemptPlan]) -> list[AttemptPlan]:
        """The attempts left to run: those not reused."""
        return [attempt for attempt in attempts if attempt.attempt_id not in self.reused]


def prepare_gate(
    options: GateOptions, suite: Suite, attempts: Sequence[AttemptPlan]
) -> PreparedGate:
    """Load the baseline, open the history, digest what fingerprints read and find the
    attempts to reuse (--incremental) and the flaky cases (--quarantine-flaky)."""
    sha = git_sha(suite.dir)
    baseline = _baseline(options, suite)
    history = History.open(resolve_db(options.db, suite.dir)) if options.db else None
    fingerprints = Fingerprints(suite, attempts)
    flaky: dict[str, str] = {}
    reused: dict[str, AttemptResult] = {}
    if history is not None:
        if options.quarantine_flaky:
            flaky = history.flaky_cases(suite.name)
        if options.incremental and not options.no_cache:
            reused = reusable(history, attempts, fingerprints)
    keeper = Gatekeeper.for_suite(suite, baseline, flaky)
    return PreparedGate(keeper, history, fingerprints, reused, sha)


def _baseline(options: GateOptions, suite: Suite) -> Baseline | None:
    """--baseline, else the suite's own (unless the run exports one)."""
    path = options.baseline or (None if options.export_baseline else suite.baseline_path)
    if path is None:
        return None
    if path == suite.baseline_path:  # named by the suite, not by the user's flag
        try:
            path = suite.project.contain(path, "baseline")
        except PathOutsideProject as exc:
            raise ConfigError(str(suite.file), str(exc), field="baseline_path") from None
    baseline = load_baseline(path)
    check_same_suite(baseline, suite.name)
    return baseline


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
            f"({argv[0]}), which adds ~100 ms to every spawn, and whose interpreter may lack "
            "harness (the agent then fails with ModuleNotFoundError: No module named 'harness'); "
            "write `{python}` as the command's first element (the interpreter running harness), "
            "or put your venv's bin/ first on PATH"
        )
    env = agent_environment(suite, clean=clean_env)
    return AgentSpec(
        argv=tuple(argv),
        cwd=suite.agent_cwd,
        env=env,
        max_line_bytes=suite.max_line_bytes,
        grace_seconds=suite.kill_grace_ms / 1000,
        retry_exit_codes=frozenset(suite.retry.exit_codes if suite.retry else ()),
        object_output=suite.output_type == "object",
    )
