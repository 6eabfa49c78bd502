"""Checks on the final output: must_contain, must_not_contain, regex_match, regex_not_match,
json_match (JSON Schema) and exact_match. Assay's `expected:` types, usable in any case.

A string output is checked as it is; any other JSON value as its compact JSON text (substring
and regex checks) or as the value itself (json_match, exact_match).
"""

from __future__ import annotations

import functools
import re
from typing import Any

import msgspec

from harness.config.schema import GraderSpec
from harness.grading.context import GradingContext
from harness.grading.evidence import (
    describe_json_differences,
    elide_middle,
    text_difference,
    window,
)
from harness.grading.preparation import Preparation, compile_regex
from harness.grading.schemas import schema_asserts_nothing, schema_errors
from harness.grading.verdict import Verdict, shorten, verdict

_FENCE = re.compile(r"```[ \t]*(?:json)?[ \t]*\n(.*?)\n[ \t]*```", re.DOTALL | re.IGNORECASE)


class MustContain(GraderSpec, frozen=True, tag="must_contain"):
    must_contain: list[str] | str
    case_sensitive: bool = True


class MustNotContain(GraderSpec, frozen=True, tag="must_not_contain"):
    must_not_contain: list[str] | str
    case_sensitive: bool = True


class RegexMatch(GraderSpec, frozen=True, tag="regex_match"):
    pattern: str
    flags: str | list[str] = ""


class RegexNotMatch(GraderSpec, frozen=True, tag="regex_not_match"):
    pattern: str
    flags: str | list[str] = ""


class JsonMatch(GraderSpec, frozen=True, tag="json_match"):
    schema: Any = None  # inline; filled from the file at load time when a file is named
    schema_file: str | None = None  # Assay's name
    schema_path: str | None = None  # RunLedger's name
    strip_fences: bool = False  # take the JSON inside a ```json fence when there is one


class ExactMatch(GraderSpec, frozen=True, tag="exact_match"):
    value: Any = None
    exact_match: Any = None  # the same, under the type's name
    trim: bool = False  # ignore leading and trailing whitespace (strings only)
    case_sensitive: bool = True


def strings(value: list[str] | str) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def flag_letters(flags: list[str] | str) -> str:
    return "".join(strings(flags))


def _fold(text: str, case_sensitive: bool) -> str:
    return text if case_sensitive else text.casefold()


def grade_must_contain(spec: MustContain, context: GradingContext) -> Verdict:
    text = context.output_text()
    wanted = strings(spec.must_contain)
    haystack = _fold(text, spec.case_sensitive)
    missing = [s for s in wanted if _fold(s, spec.case_sensitive) not in haystack]
    score = (len(wanted) - len(missing)) / len(wanted) if wanted else 1.0
    if not missing:
        return verdict(spec, True, f"output contains {_list(wanted)}", score=score)
    return verdict(
        spec,
        False,
        f"output lacks {_list(missing)} ({len(missing)} of {len(wanted)} missing); "
        f"output: {shorten(text)}",
        score=score,
        expected=wanted,
        observed=shorten(text, 2000),
        details={"missing": missing},
    )


def grade_must_not_contain(spec: MustNotContain, context: GradingContext) -> Verdict:
    text = context.output_text()
    banned = strings(spec.must_not_contain)
    haystack = _fold(text, spec.case_sensitive)
    found = [s for s in banned if _fold(s, spec.case_sensitive) in haystack]
    score = (len(banned) - len(found)) / len(banned) if banned else 1.0
    if not found:
        return verdict(spec, True, f"output contains none of {_list(banned)}", score=score)
    return verdict(
        spec,
        False,
        f"output contains forbidden {_list(found)}; output: {shorten(text)}",
        score=score,
        expected=f"none of {banned}",
        observed=shorten(text, 2000),
        details={"found": found},
    )


@functools.lru_cache(maxsize=256)
def _regex(pattern: str, flags: str) -> re.Pattern[str]:
    return compile_regex(pattern, flags)


def grade_regex(spec: RegexMatch | RegexNotMatch, context: GradingContext) -> Verdict:
    text = context.output_text()
    found = _regex(spec.pattern, flag_letters(spec.flags)).search(text)
    want = isinstance(spec, RegexMatch)
    shown = f"/{spec.pattern}/{flag_letters(spec.flags)}"
    if want and found:
        return verdict(spec, True, f"output matches {shown} at {found.start()}: {found[0]!r}")
    if not want and not found:
        return verdict(spec, True, f"output does not match {shown}")
    if found is None:
        evidence = f"output does not match {shown}; output: {elide_middle(text)}"
    else:
        evidence = (
            f"output matches forbidden {shown} at {found.start()}: {found[0]!r}, in "
            f"{window(text, found.start())}"
        )
    # The whole output: reports show it in full where their format allows (evidence is a line).
    return verdict(
        spec, False, evidence, expected=shown if want else f"no match for {shown}", observed=text
    )


def grade_json_match(spec: JsonMatch, context: GradingContext) -> Verdict:
    value, problem = _as_json(context.output, spec.strip_fences)
    source = spec.schema_file or spec.schema_path or "the inline schema"
    if problem is not None:
        return verdict(spec, False, problem, expected=f"JSON matching {source}")
    errors = schema_errors(spec.schema, value)
    if not errors:
        return verdict(spec, True, f"output matches {source}")
    shown = "; ".join(f"{e['path']}: {e['message']}" for e in errors[:5])
    more = f"; ... and {len(errors) - 5} more" if len(errors) > 5 else ""
    return verdict(
        spec,
        False,
        f"output does not match {source} ({len(errors)} error(s)): {shown}{more}",
        expected=source,
        observed=shorten(value, 2000),
        details={"errors": errors},
    )


def _as_json(output: Any, strip_fences: bool) -> tuple[Any, str | None]:
    """Strings are parsed as JSON in full (Assay's rule); other values are JSON already."""
    if not isinstance(output, str):
        return output, None
    text = output
    if strip_fences and (fenced := _FENCE.search(text)):
        text = fenced[1]
    try:
        return msgspec.json.decode(text), None
    except (msgspec.DecodeError, RecursionError) as exc:
        return None, f"output is not JSON ({exc}); output: {shorten(output)}"


def grade_exact_match(spec: ExactMatch, context: GradingContext) -> Verdict:
    expected = exact_value(spec)
    observed = context.output
    if isinstance(expected, str) and isinstance(observed, str):
        left, right = expected, observed
        if spec.trim:
            left, right = left.strip(), right.strip()
        same = _fold(left, spec.case_sensitive) == _fold(right, spec.case_sensitive)
    else:
        same = _canonical(expected) == _canonical(observed)
    if same:
        return verdict(spec, True, f"output equals {shorten(expected)}")
    return verdict(
        spec, False, _difference(spec, expected, observed), expected=expected, observed=observed
    )


def _difference(spec: ExactMatch, expected: Any, observed: Any) -> str:
    """Where the output parts from the expected value: a window around the first differing
    character of two strings, the differing paths of two JSON values."""
    if isinstance(expected, str) and isinstance(observed, str):
        left, right = (expected.strip(), observed.strip()) if spec.trim else (expected, observed)
        how = "" if spec.case_sensitive else " (compared without case)"
        if not spec.case_sensitive:
            left, right = left.casefold(), right.casefold()
        return f"output differs{how}: {text_difference(left, right)}"
    if isinstance(expected, dict | list) and isinstance(observed, dict | list):
        return describe_json_differences(expected, observed)
    return f"output differs: expected {shorten(expected)}, got {shorten(observed)}"


def exact_value(spec: ExactMatch) -> Any:
    return spec.exact_match if spec.value is None else spec.value


def _canonical(value: Any) -> Any:
    """JSON equality: key order never matters; 1 equals 1.0; true never equals 1."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return (type(value).__name__, value)
    if isinstance(value, int | float):
        return ("number", float(value))
    if isinstance(value, dict):
        return ("object", tuple(sorted((k, _canonical(v)) for k, v in value.items())))
    if isinstance(value, list):
        return ("array", tuple(_canonical(v) for v in value))
    return ("other", repr(value))


def _list(values: list[str]) -> str:
    return ", ".join(repr(value) for value in values)


# Load time -----------------------------------------------------------------------------------


def prepare_regex(spec: RegexMatch | RegexNotMatch, where: Preparation) -> Any:
    where.compile_regex(spec.pattern, "pattern", flag_letters(spec.flags))
    if isinstance(spec, RegexNotMatch) and not spec.pattern:
        where.error("an empty pattern matches every output, so this never passes", "pattern")
    return spec


def prepare_must_not_contain(spec: MustNotContain, where: Preparation) -> Any:
    if "" in strings(spec.must_not_contain):
        where.error("an empty string is in every output, so this never passes", "must_not_contain")
    return spec


def prepare_json_match(spec: JsonMatch, where: Preparation) -> Any:
    given = [name for name in ("schema", "schema_file", "schema_path") if getattr(spec, name)]
    if spec.schema is False:
        given.insert(0, "schema")
    if len(given) != 1:
        what = "none" if not given else " and ".join(given)
        where.error(f"give exactly one of schema, schema_file, schema_path (got {what})")
        return spec
    if given[0] == "schema":
        where.check_schema(spec.schema, "schema")
        return spec
    schema = where.load_schema(getattr(spec, given[0]), given[0])
    return msgspec.structs.replace(spec, schema=schema) if schema is not None else spec


def prepare_exact_match(spec: ExactMatch, where: Preparation) -> Any:
    if (spec.value is None) == (spec.exact_match is None):
        where.error("give the expected output as `value` (or `exact_match`), exactly once")
    return spec


def contains_ineffective(spec: MustContain) -> str | None:
    if not any(strings(spec.must_contain)):
        return "must_contain lists no non-empty string"
    return None


def not_contains_ineffective(spec: MustNotContain) -> str | None:
    return None if strings(spec.must_not_contain) else "must_not_contain is empty"


def regex_ineffective(spec: RegexMatch | RegexNotMatch) -> str | None:
    if isinstance(spec, RegexMatch) and not spec.pattern:
        return "the pattern is empty and matches every output"
    return None


def json_match_ineffective(spec: JsonMatch) -> str | None:
    if spec.schema is not None and schema_asserts_nothing(spec.schema):
        # Not quite nothing for a string output (it must still parse as JSON), but a schema
        # that accepts every value checks no structure; say so.
        return "the schema accepts every JSON value"
    return None
