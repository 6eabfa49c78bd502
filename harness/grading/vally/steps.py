"""Vally's trajectory graders: tool-calls (required, disallowed, sequence), skill-invocation,
loop-outcome and assistant-contains-tool-output."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec

from harness.config.schema import GraderSpec
from harness.excerpts import cut
from harness.grading.context import GradingContext
from harness.grading.preparation import Preparation
from harness.grading.vally.text import js_regex, regex_problem, shown
from harness.grading.vally.trajectory import ToolUse, trajectory_of
from harness.grading.verdict import Verdict, verdict


class ToolMatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """One tool a check names: `name` is an unanchored regex; the rest filter its calls."""

    name: str
    command: str | None = None  # regex over the `command` argument
    path: str | None = None  # regex over the `path` argument
    args: dict[str, str] = {}  # argument name -> regex over its value
    pattern: str | None = None  # regex over the arguments as JSON
    result: str | None = None  # regex over the result (not on sequence entries)
    min_count: int = 1  # required entries only
    final: bool = False  # required entries only: the match must be the last call
    at_step: int | None = None  # required entries only: in exactly this step (0-based)
    before_step: int | None = None  # required entries only: before this step (>= 1)


Entry = ToolMatch | str


class ToolCalls(GraderSpec, frozen=True, tag="tool-calls"):
    required: list[Entry] = msgspec.field(default_factory=list)
    disallowed: list[Entry] = msgspec.field(default_factory=list)
    sequence: list[Entry] = msgspec.field(default_factory=list)


class SkillInvocation(GraderSpec, frozen=True, tag="skill-invocation"):
    required: list[str] = msgspec.field(default_factory=list)
    disallowed: list[str] = msgspec.field(default_factory=list)


END_REASONS = ("completed", "agent_timeout", "budget_exceeded", "error")


class LoopOutcome(GraderSpec, frozen=True, tag="loop-outcome"):
    expected: str | list[str] = "completed"  # the end reasons that pass


class AssistantContainsToolOutput(GraderSpec, frozen=True, tag="assistant-contains-tool-output"):
    tool: str | None = None  # regex over tool names: only their results count
    min_chars: int = 3  # a quoted fragment must be at least this long (or the whole result)


def _entry(value: Entry) -> ToolMatch:
    return ToolMatch(name=value) if isinstance(value, str) else value


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return msgspec.json.encode(value).decode()
    except (TypeError, msgspec.EncodeError):
        return str(value)


def _arg(use: ToolUse, key: str) -> str | None:
    args = use.arguments if isinstance(use.arguments, dict) else {}
    return None if key not in args else _as_text(args[key])


def matches(match: ToolMatch, use: ToolUse) -> bool:
    if js_regex(match.name).search(use.name) is None:
        return False
    filters = {"command": match.command, "path": match.path, **match.args}
    for key, pattern in filters.items():
        if pattern is None:
            continue
        value = _arg(use, key)
        if value is None or js_regex(pattern).search(value) is None:
            return False
    if (
        match.pattern is not None
        and js_regex(match.pattern).search(_as_text(use.arguments)) is None
    ):
        return False
    return match.result is None or (
        use.result is not None and js_regex(match.result).search(_as_text(use.result)) is not None
    )


def _describe(match: ToolMatch) -> str:
    extras = [f"{key}~{value}" for key, value in (("command", match.command), ("path", match.path))]
    extras = [text for text in extras if not text.endswith("~None")]
    extras += [f"{key}~{value}" for key, value in match.args.items()]
    return f"'{match.name}'" + (f" ({', '.join(extras)})" if extras else "")


def _required_problems(match: ToolMatch, uses: list[ToolUse]) -> Iterator[str]:
    hits = [use for use in uses if matches(match, use)]
    if match.at_step is not None:
        hits = [use for use in hits if use.step == match.at_step]
    if match.before_step is not None:
        hits = [use for use in hits if use.step < match.before_step]
    where = _describe(match)
    if len(hits) < match.min_count:
        wanted = "" if match.min_count == 1 else f" at least {match.min_count} times"
        yield f"Required tool {where} not called{wanted} (matched {len(hits)})"
    elif match.final and (not uses or uses[-1] not in hits):
        last = uses[-1].name if uses else "none"
        yield f"Required tool {where} is not the final tool call (last: {last})"


def grade_tool_calls(spec: ToolCalls, context: GradingContext) -> Verdict:
    uses = trajectory_of(context).tool_uses()
    problems: list[str] = []
    for value in spec.required:
        problems.extend(_required_problems(_entry(value), uses))
    for value in spec.disallowed:
        match = _entry(value)
        called = [use.name for use in uses if matches(match, use)]
        if called:
            problems.append(f"Disallowed tool {_describe(match)} called {len(called)} time(s)")
    if spec.sequence:
        order = [_entry(value) for value in spec.sequence]
        done = _sequence_matched(order, uses)
        if done < len(order):
            names = " -> ".join(match.name for match in order)
            problems.append(f"Sequence {names} not followed (matched {done} of {len(order)})")
    if problems:
        return verdict(spec, False, "; ".join(problems), score=0.0)
    return verdict(spec, True, f"All tool-call checks passed ({len(uses)} call(s))", score=1.0)


def _sequence_matched(order: list[ToolMatch], uses: list[ToolUse]) -> int:
    """How many entries of `order` the calls follow as a subsequence."""
    done = 0
    for use in uses:
        if done < len(order) and matches(order[done], use):
            done += 1
    return done


def grade_skills(spec: SkillInvocation, context: GradingContext) -> Verdict:
    activated = trajectory_of(context).skills_activated()
    missing = [name for name in spec.required if name not in activated]
    banned = sorted({name for name in spec.disallowed if name in activated})
    problems = []
    if missing:
        problems.append(f"Missing required skills: {shown(missing)}")
    if banned:
        problems.append(f"Disallowed skills activated: {shown(banned)}")
    if problems:
        return verdict(spec, False, "; ".join(problems), score=0.0, observed=activated)
    seen = shown(sorted(set(activated))) if activated else "none"
    return verdict(spec, True, f"Skill checks passed (activated: {seen})", score=1.0)


def grade_loop_outcome(spec: LoopOutcome, context: GradingContext) -> Verdict:
    raw = trajectory_of(context).raw
    reason = str(raw.get("endReason") or "completed")
    expected = [spec.expected] if isinstance(spec.expected, str) else list(spec.expected)
    passed = reason in expected
    evidence = f"Loop ended: {reason} (expected {' or '.join(expected)})"
    return verdict(spec, passed, evidence, score=1.0 if passed else 0.0)


def _fragments(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _fragments(item)
    elif isinstance(value, list):
        for item in value:
            yield from _fragments(item)
    elif value is not None and not isinstance(value, bool):
        text = str(value).strip()
        yield text
        yield from (line.strip() for line in text.splitlines() if line.strip())


def grade_quotes_tool(spec: AssistantContainsToolOutput, context: GradingContext) -> Verdict:
    trajectory = trajectory_of(context)
    said = "\n".join(trajectory.assistant_texts())
    uses = [use for use in trajectory.tool_uses() if use.success is not False]
    if spec.tool is not None:
        uses = [use for use in uses if js_regex(spec.tool).search(use.name)]
    if not uses:
        return verdict(
            spec, False, "No tool output to look for (no matching tool results)", score=0
        )
    for use in uses:
        whole = _as_text(use.result).strip()
        for fragment in _fragments(use.result):
            long_enough = len(fragment) >= spec.min_chars or (fragment == whole and fragment)
            if long_enough and fragment in said:
                evidence = f"Assistant output contains output of tool '{use.name}': {fragment!r}"
                return verdict(spec, True, cut(evidence, 300), score=1.0)
    names = shown(sorted({use.name for use in uses}))
    return verdict(spec, False, f"Assistant output contains no output of tools: {names}", score=0)


def prepare_tool_calls(spec: ToolCalls, where: Preparation) -> Any:
    if not (spec.required or spec.disallowed or spec.sequence):
        where.error("give at least one of required, disallowed or sequence")
    for field in ("required", "disallowed", "sequence"):
        for i, value in enumerate(getattr(spec, field)):
            _check_match(_entry(value), field, f"{field}[{i}]", where)
    return spec


def _check_match(match: ToolMatch, field: str, path: str, where: Preparation) -> None:
    patterns = [("name", match.name), ("command", match.command), ("path", match.path)]
    patterns += [(f"args.{key}", value) for key, value in match.args.items()]
    patterns += [("pattern", match.pattern), ("result", match.result)]
    for name, pattern in patterns:
        if pattern is not None and (problem := regex_problem(pattern)) is not None:
            where.error(problem, f"{path}.{name}")
    required_only = match.min_count != 1 or match.final or match.at_step is not None
    if field != "required" and (required_only or match.before_step is not None):
        where.error("min_count, final, at_step and before_step apply to required entries", path)
    if field == "sequence" and match.result is not None:
        where.error("result is not supported on sequence entries", f"{path}.result")
    if match.min_count < 1:
        where.error(f"must be 1 or more, got {match.min_count}", f"{path}.min_count")
    if match.at_step is not None and match.at_step < 0:
        where.error(f"must be 0 or more, got {match.at_step}", f"{path}.at_step")
    if match.before_step is not None and match.before_step < 1:
        where.error(f"must be 1 or more, got {match.before_step}", f"{path}.before_step")


def prepare_skills(spec: SkillInvocation, where: Preparation) -> Any:
    if not (spec.required or spec.disallowed):
        where.error("give at least one of required or disallowed")
    overlap = sorted(set(spec.required) & set(spec.disallowed))
    if overlap:
        where.error(f"skills both required and disallowed: {', '.join(overlap)}", "disallowed")
    return spec


def prepare_loop_outcome(spec: LoopOutcome, where: Preparation) -> Any:
    expected = [spec.expected] if isinstance(spec.expected, str) else spec.expected
    for value in expected:
        if value not in END_REASONS:
            where.error(f"unknown end reason {value!r}; use {', '.join(END_REASONS)}", "expected")
    return spec


def prepare_quotes_tool(spec: AssistantContainsToolOutput, where: Preparation) -> Any:
    if spec.tool is not None and (problem := regex_problem(spec.tool)) is not None:
        where.error(problem, "tool")
    if spec.min_chars < 1:
        where.error(f"must be 1 or more, got {spec.min_chars}", "min_chars")
    return spec
