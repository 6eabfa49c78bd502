"""Vally's file graders over the attempt's workspace: a file exists (or not), contains text (or
not), matches a regex (or not). Paths are relative to the workspace and may not leave it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.config.paths import PathEscapeError, check_relative, inside
from harness.config.schema import GraderSpec
from harness.grading.commands import inline_regex
from harness.grading.context import GradingContext
from harness.grading.preparation import Preparation
from harness.grading.verdict import ERRORED, Verdict, shorten, verdict, with_status

MAX_READ_BYTES = 16 * 1024 * 1024


class _File(GraderSpec, frozen=True, kw_only=True):
    path: str


class FileExists(_File, frozen=True, tag="file-exists"):
    pass


class FileNotExists(_File, frozen=True, tag="file-not-exists"):
    pass


class FileContains(_File, frozen=True, tag="file-contains"):
    text: str | list[str]
    case_sensitive: bool = True


class FileNotContains(_File, frozen=True, tag="file-not-contains"):
    text: str | list[str]
    case_sensitive: bool = True


class FileMatches(_File, frozen=True, tag="file-matches"):
    pattern: str | list[str]


class FileNotMatches(_File, frozen=True, tag="file-not-matches"):
    pattern: str | list[str]


FileSpec = (
    FileExists | FileNotExists | FileContains | FileNotContains | FileMatches | FileNotMatches
)


def _many(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _locate(spec: _File, context: GradingContext) -> Path | Verdict:
    if context.workspace is None:
        note = context.workspace_note or "the case has no `workspace:`"
        return with_status(spec, ERRORED, f"{spec.path}: not checked: no workspace ({note})")
    try:
        return inside(context.workspace, spec.path)
    except PathEscapeError as exc:
        return verdict(spec, False, f"path {exc}")


def grade_file(spec: FileSpec, context: GradingContext) -> Verdict:
    target = _locate(spec, context)
    if isinstance(target, Verdict):
        return target
    exists = target.is_file()
    if isinstance(spec, FileExists | FileNotExists):
        want = isinstance(spec, FileExists)
        state = "exists" if exists else ("is a folder" if target.is_dir() else "does not exist")
        expected = "exists" if want else "does not exist"
        return verdict(spec, exists == want, f"{spec.path} {state} (expected: {expected})")
    if not exists:
        return verdict(spec, False, f"{spec.path} does not exist", expected="a file")
    with target.open("rb") as handle:
        text = handle.read(MAX_READ_BYTES).decode("utf-8", errors="replace")
    if isinstance(spec, FileContains | FileNotContains):
        return _contains(spec, text)
    return _matches(spec, text)


def _contains(spec: FileContains | FileNotContains, text: str) -> Verdict:
    def fold(value: str) -> str:
        return value if spec.case_sensitive else value.casefold()

    wanted = _many(spec.text)
    present = [item for item in wanted if fold(item) in fold(text)]
    if isinstance(spec, FileContains):
        missing = [item for item in wanted if item not in present]
        if not missing:
            return verdict(spec, True, f"{spec.path} contains {_list(wanted)}")
        evidence = f"{spec.path} lacks {_list(missing)}; starts: {shorten(text, 200)}"
        return verdict(spec, False, evidence, expected=wanted, observed=shorten(text, 2000))
    if not present:
        return verdict(spec, True, f"{spec.path} contains none of {_list(wanted)}")
    evidence = f"{spec.path} contains forbidden {_list(present)}"
    return verdict(spec, False, evidence, expected=f"none of {wanted}", observed=present)


def _matches(spec: FileMatches | FileNotMatches, text: str) -> Verdict:
    want = isinstance(spec, FileMatches)
    for pattern in _many(spec.pattern):
        found = inline_regex(pattern).search(text)
        if want and found is None:
            evidence = f"{spec.path} does not match /{pattern}/; starts: {shorten(text, 200)}"
            return verdict(spec, False, evidence, expected=pattern, observed=shorten(text, 2000))
        if not want and found is not None:
            evidence = f"{spec.path} matches forbidden /{pattern}/: {found[0]!r}"
            return verdict(spec, False, evidence, expected=f"no match for {pattern}")
    word = "matches" if want else "matches none of"
    return verdict(spec, True, f"{spec.path} {word} {_list(_many(spec.pattern))}")


def _list(values: list[str]) -> str:
    return ", ".join(repr(value) for value in values)


def prepare_file(spec: Any, where: Preparation) -> Any:
    try:
        check_relative(spec.path)
    except PathEscapeError as exc:
        where.error(str(exc), "path")
    for name in ("text", "pattern"):
        value = getattr(spec, name, None)
        if isinstance(value, list) and not value:
            where.error("must be a string or a non-empty list", name)
        if name == "pattern" and value is not None:
            for pattern in _many(value):
                try:
                    inline_regex(pattern)
                except Exception as exc:  # re.error and its relatives: one message for all
                    where.error(f"invalid regular expression {pattern!r}: {exc}", name)
    return spec


def text_ineffective(spec: Any) -> str | None:
    if isinstance(spec, FileContains) and not any(_many(spec.text)):
        return "text lists no non-empty string"
    return None
