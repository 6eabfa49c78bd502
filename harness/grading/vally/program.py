"""Vally's code graders: `program` runs any program with EVALUATE_WORKSPACE (the workspace
root) and EVALUATE_GRADER_INPUT (a JSON file: trajectory, stimulus, config) and reads a
GraderResult from its stdout, or its exit status when it prints nothing; `run-command` is
harness's, with Vally's 30 s default timeout."""

from __future__ import annotations

import shlex
import tempfile
from pathlib import Path
from typing import Any

import msgspec

from harness.config.paths import PathEscapeError, inside
from harness.config.schema import GraderSpec
from harness.excerpts import cut_tail
from harness.grading.commands import RunCommand, check_sub_path, prepare_run_command
from harness.grading.context import GradingContext
from harness.grading.preparation import Preparation
from harness.grading.subprocesses import Completed, run_captured
from harness.grading.vally.metrics import parse_duration
from harness.grading.vally.trajectory import stimulus_of, trajectory_of
from harness.grading.verdict import GraderError, Verdict, shorten, verdict

RESERVED_ENV = ("EVALUATE_WORKSPACE", "EVALUATE_GRADER_INPUT")


class Program(GraderSpec, frozen=True, tag="program"):
    program: str
    args: list[str] = msgspec.field(default_factory=list)
    shell: bool = False
    sub_path: str | None = None
    timeout: str = "60s"
    env: dict[str, str] = msgspec.field(default_factory=dict)


class VallyRunCommand(RunCommand, frozen=True, tag="run-command"):
    """harness's run-command with Vally's default timeout."""

    timeout: str | float = "30s"


class _GraderResult(msgspec.Struct):
    score: float | None = None
    passed: bool | None = None
    evidence: str | None = None
    metadata: dict[str, Any] | None = None


def _shown(spec: Program) -> str:
    # With `shell: true` the program is shell text of its own; the args are quoted onto it.
    if spec.shell:
        return " ".join([spec.program, *map(shlex.quote, spec.args)])
    return shlex.join([spec.program, *spec.args])


async def grade_program(spec: Program, context: GradingContext) -> Verdict:
    workspace = context.workspace
    if workspace is None or not workspace.is_dir():
        raise GraderError(f"program '{_shown(spec)}' not run: the workspace is not accessible")
    try:
        cwd = inside(workspace, spec.sub_path) if spec.sub_path else workspace
    except PathEscapeError as exc:
        return verdict(spec, False, f"Program '{_shown(spec)}' not run: sub_path {exc}", score=0.0)
    grader_input = {
        "trajectory": dict(trajectory_of(context).raw),
        "stimulus": dict(stimulus_of(context)),
        "config": msgspec.to_builtins(msgspec.structs.asdict(spec)),
    }
    with tempfile.TemporaryDirectory(prefix="harness-grader-") as folder:
        input_path = Path(folder) / "grader-input.json"
        input_path.write_bytes(msgspec.json.encode(grader_input))
        env = {
            **spec.env,
            "EVALUATE_WORKSPACE": str(workspace),
            "EVALUATE_GRADER_INPUT": str(input_path),
        }
        command: str | list[str] = _shown(spec) if spec.shell else [spec.program, *spec.args]
        try:
            done = await run_captured(
                command, cwd=cwd, env=env, timeout_seconds=parse_duration(spec.timeout)
            )
        except OSError as exc:
            raise GraderError(
                f"program '{_shown(spec)}' could not start: {exc.strerror or exc}"
            ) from exc
    return _result(spec, done)


def _result(spec: Program, done: Completed) -> Verdict:
    shown = _shown(spec)
    details: dict[str, Any] = {
        "stdout": cut_tail(done.stdout, 4000),
        "stderr": cut_tail(done.stderr, 4000),
        "exit_code": done.exit_code,
    }
    if done.timed_out:
        return verdict(
            spec,
            False,
            f"Program '{shown}' timed out after {spec.timeout}",
            score=0.0,
            details=details,
        )
    text = done.stdout.strip()
    if not text:
        passed = done.exit_code == 0
        evidence = f"Program '{shown}' exited with code {done.exit_code}"
        if not passed and done.stderr.strip():
            evidence += f": {shorten(cut_tail(done.stderr.strip(), 300), 300)}"
        return verdict(spec, passed, evidence, score=1.0 if passed else 0.0, details=details)
    try:
        answer = msgspec.json.decode(text.splitlines()[-1], type=_GraderResult)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise GraderError(
            f"program '{shown}' printed {shorten(text, 200)}, not a GraderResult JSON object "
            '({"score": 0..1, "passed": bool, "evidence": "..."}); print nothing to use the '
            "exit code"
        ) from None
    score = answer.score
    if score is not None and not 0 <= score <= 1:
        raise GraderError(f"program '{shown}' returned score {score}, outside [0, 1]")
    passed = answer.passed if answer.passed is not None else done.exit_code == 0
    evidence = answer.evidence or f"Program '{shown}' {'passed' if passed else 'failed'}"
    if answer.metadata:
        details["metadata"] = answer.metadata
    return verdict(
        spec, passed, evidence, score=score if score is not None else float(passed), details=details
    )


def prepare_program(spec: Program, where: Preparation) -> Any:
    if not spec.program.strip():
        where.error("must name a program to run", "program")
    check_sub_path(spec.sub_path, where)
    try:
        parse_duration(spec.timeout)
    except ValueError as exc:
        where.error(str(exc), "timeout")
    for name in spec.env:
        if name.upper() in RESERVED_ENV:
            where.error(f"{name} is set by the grader and cannot be overridden", "env")
    return spec


def prepare_vally_run_command(spec: VallyRunCommand, where: Preparation) -> Any:
    spec = prepare_run_command(spec, where)
    try:
        parse_duration(spec.timeout)
    except ValueError as exc:
        where.error(str(exc), "timeout")
    return spec
