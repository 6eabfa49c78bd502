"""Vally's static graders over the trial's output and transcript: output-contains,
output-matches (and their `not` forms), transcript-contains, transcript-matches, completed and
exit-success. Evidence reads as Vally's does: `'hello' found in output`."""

from __future__ import annotations

from typing import Any

from harness.config.schema import GraderSpec
from harness.grading.context import GradingContext
from harness.grading.preparation import Preparation
from harness.grading.vally.text import js_regex, regex_problem, transcript_text
from harness.grading.vally.trajectory import trajectory_of
from harness.grading.verdict import Verdict, verdict


class OutputContains(GraderSpec, frozen=True, tag="output-contains"):
    substring: str
    case_sensitive: bool = False  # Vally's default: case-insensitive
    negate: bool = False


class OutputNotContains(OutputContains, frozen=True, tag="output-not-contains"):
    pass


class OutputMatches(GraderSpec, frozen=True, tag="output-matches"):
    pattern: str
    negate: bool = False


class OutputNotMatches(OutputMatches, frozen=True, tag="output-not-matches"):
    pass


class TranscriptContains(OutputContains, frozen=True, tag="transcript-contains"):
    pass


class TranscriptMatches(OutputMatches, frozen=True, tag="transcript-matches"):
    pass


class Completed(GraderSpec, frozen=True, tag="completed"):
    pass


class ExitSuccess(GraderSpec, frozen=True, tag="exit-success"):
    pass


def negated(spec: OutputContains | OutputMatches) -> bool:
    return spec.negate or isinstance(spec, OutputNotContains | OutputNotMatches)


def _binary(spec: GraderSpec, passed: bool, evidence: str, **fields: Any) -> Verdict:
    return verdict(spec, passed, evidence, score=1.0 if passed else 0.0, **fields)


def grade_contains(spec: OutputContains, context: GradingContext) -> Verdict:
    trajectory = trajectory_of(context)
    transcript = isinstance(spec, TranscriptContains)
    text = transcript_text(trajectory) if transcript else trajectory.output
    where = "transcript" if transcript else "output"
    wanted = spec.substring
    found = wanted in text if spec.case_sensitive else wanted.casefold() in text.casefold()
    evidence = f"'{wanted}' {'found' if found else 'NOT found'} in {where}"
    return _binary(spec, found != negated(spec), evidence)


def grade_matches(spec: OutputMatches, context: GradingContext) -> Verdict:
    trajectory = trajectory_of(context)
    transcript = isinstance(spec, TranscriptMatches)
    text = transcript_text(trajectory) if transcript else trajectory.output
    found = js_regex(spec.pattern).search(text) is not None
    subject = "Transcript" if transcript else "Output"
    word = "matches" if found else "does not match"
    return _binary(spec, found != negated(spec), f"{subject} {word} pattern /{spec.pattern}/")


def grade_completed(spec: Completed, context: GradingContext) -> Verdict:
    trajectory = trajectory_of(context)
    if not trajectory.output.strip():
        return _binary(spec, False, "Agent produced no output")
    errors = trajectory.error_count()
    if errors:
        return _binary(spec, False, f"{errors} error event(s) in trajectory")
    if not trajectory.of_type("turn_end"):
        return _binary(spec, False, "No turn_end events found — session may have crashed mid-turn")
    return _binary(spec, True, "Agent session completed successfully")


def grade_exit_success(spec: ExitSuccess, context: GradingContext) -> Verdict:
    if not trajectory_of(context).output.strip():
        return _binary(spec, False, "Agent produced no output")
    return _binary(spec, True, "Agent completed successfully")


def prepare_pattern(spec: OutputMatches, where: Preparation) -> Any:
    if (problem := regex_problem(spec.pattern)) is not None:
        where.error(problem, "pattern")
    return spec


def prepare_substring(spec: OutputContains, where: Preparation) -> Any:
    if not spec.substring:
        where.error("must not be empty: an empty substring is found in any output", "substring")
    return spec
