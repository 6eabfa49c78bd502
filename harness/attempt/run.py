"""One attempt, from spawn to AttemptResult: set up its workspace, hold the conversation on the
context's host, grade what the agent produced, and build the result.

Nothing here writes run artifacts: the result and the trace events are returned. (The agent's
stderr is streamed to the log path it is given, because stderr can be larger than memory.)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from harness.agent.session import StderrSink
from harness.attempt.budgets import LiveBudget
from harness.attempt.build import Ending, build_result, failure_of, ordered_failures
from harness.attempt.context import AttemptContext, AttemptOutput
from harness.attempt.conversation import Conversation
from harness.attempt.host import OWN_PROCESS
from harness.attempt.normalization import Normalizer
from harness.attempt.spec import AgentSpec, AttemptPlan, OutputHook
from harness.attempt.trace import Trace
from harness.attempt.workspace import Workspace, WorkspaceError, open_workspace
from harness.errors import AttemptError, BudgetExceededError
from harness.grading.engine import Grading, failure_rows, grade_case
from harness.results import PASS, Failure


async def run_attempt(
    plan: AttemptPlan,
    agent: AgentSpec,
    context: AttemptContext,
    *,
    stderr_path: Path | None = None,
    on_output: OutputHook | None = None,
) -> AttemptOutput:
    """Run one attempt and judge it; never raises an AttemptError.

    A case with a workspace runs in a fresh one (the agent's cwd, where run-command and file
    graders look), on a process of its own; the workspace goes when grading is done, unless
    kept under `context.keep_workspace_under`. `on_output(kind, text)` sees each stderr chunk
    ("stderr") and log message ("log")."""
    spec = plan.case.workspace
    if spec is None:
        return await _converse_and_grade(plan, agent, context, stderr_path, on_output, None)
    try:
        async with open_workspace(
            spec,
            plan.attempt_id,
            keep_under=context.keep_workspace_under,
            project=plan.case.project,
        ) as workspace:
            moved = dataclasses.replace(agent, cwd=workspace.path)
            # A kept agent process lives in another folder: this attempt gets its own.
            host = context.host
            own = (
                context if host is None or host.own_cwd else dataclasses.replace(context, host=None)
            )
            return await _converse_and_grade(plan, moved, own, stderr_path, on_output, workspace)
    except WorkspaceError as exc:
        return _not_started(plan, exc)


def _not_started(plan: AttemptPlan, exc: WorkspaceError) -> AttemptOutput:
    trace = Trace(plan.case.id, plan.attempt_id)
    trace.error(exc.kind, exc.message)
    trace.end(False, 0)
    result, _ = build_result(plan, [failure_of(exc)], Ending(wall_ms=0))
    return AttemptOutput(result=result, trace=trace)


async def _converse_and_grade(
    plan: AttemptPlan,
    agent: AgentSpec,
    context: AttemptContext,
    stderr_path: Path | None,
    on_output: OutputHook | None,
    workspace: Workspace | None,
) -> AttemptOutput:
    case = plan.case
    sink = StderrSink(stderr_path, echo=_echo_stderr(on_output), redact=context.redact_stderr)
    gateway = context.gateway(case)
    conversation = Conversation(
        plan=plan,
        agent=agent,
        registry=context.tool_registry,
        gateway=gateway,
        normalizer=Normalizer(case.normalization) if case.normalization else None,
        budget=LiveBudget(case.budgets),
        sink=sink,
        trace=Trace(case.id, plan.attempt_id),
        on_output=on_output,
        model=context.model_for(gateway, case, plan.attempt_id) if context.model_for else None,
    )
    error = await _hold(conversation, context)
    wall_ms = conversation.budget.elapsed_ms()
    trace, counters = conversation.trace, conversation.counters
    model_failures = _model_failures(conversation)
    ended_by = failure_of(error) if error is not None else None
    if error is not None:
        trace.error(error.kind, error.message)
    graded = None
    if conversation.answered and not context.grading.skip:
        graded = await _grade(conversation, context, workspace)
    completed = error is None and conversation.answered and not model_failures
    folder = stderr_path.parent if stderr_path is not None else None
    finished = conversation.gateway.finish(completed=completed, folder=folder)
    gateway_failures = [*model_failures, *finished]
    usage = []
    if not isinstance(error, BudgetExceededError):
        exceeded = conversation.budget.usage_exceeded(counters.tokens_out, counters.cost_usd)
        usage = [failure_of(budget) for budget in exceeded]
    failures = ordered_failures(
        ended_by, graded.failures if graded else [], gateway_failures, usage
    )
    wrote = stderr_path is not None and sink.total_bytes > 0
    ending = Ending(
        wall_ms=wall_ms,
        exit_code=conversation.exit_code,
        stderr_tail=sink.tail() if sink.total_bytes else None,
        stderr_path=str(stderr_path) if wrote else None,
        cassette_sha256=getattr(conversation.gateway, "sha256", None),
        workspace=str(workspace.path) if workspace is not None and workspace.kept else None,
        retry_exit_codes=agent.retry_exit_codes,
    )
    ungraded = context.grading.skip and not failures
    result, retryable = build_result(
        plan, failures, ending, counters=counters, graded=graded, ungraded=ungraded
    )
    trace.end(result.status == PASS, wall_ms)
    return AttemptOutput(result=result, trace=trace, retryable=retryable)


async def _hold(conversation: Conversation, context: AttemptContext) -> AttemptError | None:
    """The conversation on the context's host (which stops it at once if the stderr log
    cannot be written: a full disk, a file-size limit).

    Raises:
        InfrastructureError: the log could not be written; the run cannot go on (exit 3).
    """
    sink = conversation.sink
    error = await (context.host or OWN_PROCESS).run(conversation)
    if sink.write_error is not None:
        raise sink.write_error
    return error


async def _grade(
    conversation: Conversation, context: AttemptContext, workspace: Workspace | None
) -> Grading | None:
    trace = conversation.trace
    graded = await grade_case(
        conversation.plan.case,
        trace.events,
        options=context.grading,
        workspace=workspace.path if workspace else None,
    )
    if graded is not None and graded.failing:
        trace.assertion_failures(failure_rows(graded.failing))
    return graded


def _model_failures(conversation: Conversation) -> list[Failure]:
    """The model calls' usage into the counters; what the model session found (a failure the
    conversation did not end with, strict replay's findings)."""
    model = conversation.model
    if model is None:
        return []
    conversation.counters.add_usage(model.tokens_in, model.tokens_out, model.cost_usd)
    return model.finish()


def _echo_stderr(on_output: OutputHook | None) -> Callable[[bytes], None] | None:
    if on_output is None:
        return None
    return lambda chunk: on_output("stderr", chunk.decode("utf-8", errors="replace"))
