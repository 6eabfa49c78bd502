"""Vally's `run-command` grader: run a command in the attempt's workspace and check its exit
code and output. Evidence reads like `Command 'npm test' exited with code 1 (expected 0)`."""

from __future__ import annotations

import functools
import re
import shlex
from typing import Any

import msgspec

from harness.config.paths import PathEscapeError, check_relative, inside, parse_duration
from harness.config.schema import GraderSpec
from harness.excerpts import cut_tail
from harness.grading.context import GradingContext
from harness.grading.preparation import Preparation
from harness.grading.subprocesses import Completed, run_captured
from harness.grading.verdict import ERRORED, GraderError, Verdict, shorten, verdict, with_status

DEFAULT_TIMEOUT = "60s"
WORKSPACE_ENV = "HARNESS_WORKSPACE"
# Vally translates these inline flags because JavaScript has none; Python has them, but only
# at the very start of a pattern, so they are moved there wherever they are written.
_INLINE_FLAGS = re.compile(r"\(\?([ims]+)\)")


class RunCommand(GraderSpec, frozen=True, tag="run-command"):
    command: str
    args: list[str] | None = None  # given: no shell, `command` is the program
    expected_exit_code: int = 0
    stdout_contains: str | list[str] | None = None
    stderr_contains: str | list[str] | None = None
    stdout_matches: str | list[str] | None = None
    stdout_not_matches: str | list[str] | None = None
    sub_path: str | None = None  # working folder under the workspace root
    timeout: str | float = DEFAULT_TIMEOUT
    env: dict[str, str] = msgspec.field(default_factory=dict)


def _many(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


@functools.lru_cache(maxsize=256)
def inline_regex(pattern: str) -> re.Pattern[str]:
    """A pattern with Vally's inline flags `(?i)`, `(?m)`, `(?s)` allowed anywhere."""
    letters = "".join(_INLINE_FLAGS.findall(pattern))
    body = _INLINE_FLAGS.sub("", pattern)
    return re.compile(f"(?{''.join(sorted(set(letters)))}){body}" if letters else body)


def shown_command(spec: RunCommand) -> str:
    return spec.command if spec.args is None else shlex.join([spec.command, *spec.args])


async def grade_run_command(spec: RunCommand, context: GradingContext) -> Verdict:
    shown = shown_command(spec)
    if context.workspace is None:
        note = context.workspace_note or "the case has no `workspace:`"
        return with_status(spec, ERRORED, f"Command '{shown}' not run: no workspace ({note})")
    try:
        cwd = inside(context.workspace, spec.sub_path) if spec.sub_path else context.workspace
    except PathEscapeError as exc:
        return verdict(spec, False, f"Command '{shown}' not run: sub_path {exc}")
    if not cwd.is_dir():
        message = f"Command '{shown}' not run: sub_path {spec.sub_path!r} is not a folder"
        return verdict(spec, False, message)
    command: str | list[str] = spec.command if spec.args is None else [spec.command, *spec.args]
    env = {**spec.env, WORKSPACE_ENV: str(context.workspace)}
    seconds = parse_duration(spec.timeout)
    try:
        done = await run_captured(command, cwd=cwd, env=env, timeout_seconds=seconds)
    except OSError as exc:
        raise GraderError(f"run-command: cannot start '{shown}': {exc.strerror or exc}") from exc
    return _judge(spec, shown, done)


def _judge(spec: RunCommand, shown: str, done: Completed) -> Verdict:
    checks: list[tuple[bool, str]] = []
    if done.timed_out:
        checks.append((False, f"Command '{shown}' timed out after {spec.timeout} and was killed"))
    else:
        code = done.exit_code
        message = f"Command '{shown}' exited with code {code} (expected {spec.expected_exit_code})"
        checks.append((code == spec.expected_exit_code, message))
    for stream, text in [("stdout", done.stdout), ("stderr", done.stderr)]:
        for wanted in _many(getattr(spec, f"{stream}_contains")):
            found = wanted in text
            checks.append((found, f"{stream} {'contains' if found else 'lacks'} {wanted!r}"))
    for pattern in _many(spec.stdout_matches):
        found = inline_regex(pattern).search(done.stdout) is not None
        checks.append((found, f"stdout {'matches' if found else 'does not match'} /{pattern}/"))
    for pattern in _many(spec.stdout_not_matches):
        found = inline_regex(pattern).search(done.stdout) is not None
        word = "matches forbidden" if found else "does not match"
        checks.append((not found, f"stdout {word} /{pattern}/"))
    failed = [message for ok, message in checks if not ok]
    passed_count = len(checks) - len(failed)
    evidence = "; ".join(failed) if failed else "; ".join(message for _, message in checks)
    if failed and not done.timed_out:
        tail = cut_tail(done.stderr.strip() or done.stdout.strip(), 400)
        if tail:
            evidence += f"; output tail: {shorten(tail, 400)}"
    return verdict(
        spec,
        not failed,
        evidence,
        score=passed_count / len(checks),
        expected={"exit_code": spec.expected_exit_code},
        observed={"exit_code": done.exit_code, "timed_out": done.timed_out},
        details={
            "command": shown,
            "stdout": cut_tail(done.stdout, 4000),
            "stderr": cut_tail(done.stderr, 4000),
            "seconds": round(done.seconds, 3),
        },
    )


def check_sub_path(sub_path: str | None, where: Preparation) -> None:
    """A command grader's `sub_path` (where in the workspace it runs): relative, no `..`."""
    if sub_path is not None:
        try:
            check_relative(sub_path)
        except PathEscapeError as exc:
            where.error(str(exc), "sub_path")


def prepare_run_command(spec: RunCommand, where: Preparation) -> Any:
    if not spec.command.strip():
        where.error("must not be empty", "command")
    check_sub_path(spec.sub_path, where)
    try:
        parse_duration(spec.timeout)
    except ValueError as exc:
        where.error(str(exc), "timeout")
    fields = ("stdout_matches", "stdout_not_matches")
    for name in fields:
        for pattern in _many(getattr(spec, name)):
            try:
                inline_regex(pattern)
            except (re.error, RecursionError, OverflowError) as exc:
                where.error(f"invalid regular expression {pattern!r}: {exc}", name)
    for name in ("stdout_contains", "stderr_contains", *fields):
        value = getattr(spec, name)
        if isinstance(value, list) and not value:
            where.error("must be a string or a non-empty list", name)
    if WORKSPACE_ENV in spec.env:
        where.error(f"{WORKSPACE_ENV} is set by harness and cannot be overridden", "env")
    return spec
