"""Vally's workspace graders: file-exists, file-contains and file-matches (each with a `not`
form) over files a glob selects, and diff-contains, diff-not-contains and diff-empty over the
changes the agent made to the workspace as it was set up."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from harness.config.paths import PathEscapeError, check_relative
from harness.config.schema import GraderSpec
from harness.grading.context import GradingContext
from harness.grading.preparation import Preparation
from harness.grading.vally.text import glob_workspace, js_regex, read_text, regex_problem, shown
from harness.grading.vally.trajectory import BASELINE_KEY
from harness.grading.verdict import GraderError, Verdict, verdict

SKIPPED_DIRS = frozenset({".git"})
MAX_DIFF_FILE_BYTES = 2 * 1024 * 1024


class FileExists(GraderSpec, frozen=True, tag="file-exists"):
    path: str  # a path or glob, relative to the workspace
    negate: bool = False


class FileNotExists(FileExists, frozen=True, tag="file-not-exists"):
    pass


class FileContains(GraderSpec, frozen=True, tag="file-contains"):
    path: str
    value: str
    negate: bool = False


class FileNotContains(FileContains, frozen=True, tag="file-not-contains"):
    pass


class FileMatches(GraderSpec, frozen=True, tag="file-matches"):
    path: str
    pattern: str
    negate: bool = False


class FileNotMatches(FileMatches, frozen=True, tag="file-not-matches"):
    pass


class DiffContains(GraderSpec, frozen=True, tag="diff-contains"):
    substring: str
    path: str | None = None  # only changes to files this glob selects
    negate: bool = False


class DiffNotContains(DiffContains, frozen=True, tag="diff-not-contains"):
    pass


class DiffEmpty(GraderSpec, frozen=True, tag="diff-empty"):
    path: str | None = None
    negate: bool = False


_NOT = (FileNotExists, FileNotContains, FileNotMatches, DiffNotContains)


def _negated(spec: Any) -> bool:
    return bool(spec.negate) or isinstance(spec, _NOT)


def _binary(spec: GraderSpec, passed: bool, evidence: str, **fields: Any) -> Verdict:
    return verdict(spec, passed, evidence, score=1.0 if passed else 0.0, **fields)


def _workspace(context: GradingContext) -> Path:
    if context.workspace is None or not context.workspace.is_dir():
        note = context.workspace_note or "the trial kept no workspace"
        raise GraderError(f"workspace not accessible: {note}")
    return context.workspace


def _matches(spec: Any, root: Path) -> list[str] | Verdict:
    try:
        return glob_workspace(root, spec.path)
    except PathEscapeError as exc:
        return _binary(spec, False, f"path {exc}")


def grade_exists(spec: FileExists, context: GradingContext) -> Verdict:
    found = _matches(spec, _workspace(context))
    if isinstance(found, Verdict):
        return found
    if found:
        evidence = f"Files matching '{spec.path}' found: {shown(found)}"
    else:
        evidence = f"No files matching '{spec.path}' found"
    return _binary(spec, bool(found) != _negated(spec), evidence, observed=found[:50])


def grade_contains(spec: FileContains, context: GradingContext) -> Verdict:
    root = _workspace(context)
    found = _matches(spec, root)
    if isinstance(found, Verdict):
        return found
    files = [name for name in found if (root / name).is_file()]
    if not files:
        return _binary(spec, _negated(spec), f"No files matching '{spec.path}' found")
    hits = [name for name in files if spec.value in read_text(root / name)]
    if hits:
        evidence = f"'{spec.value}' found in {shown(hits)}"
    else:
        evidence = f"'{spec.value}' NOT found in {shown(files)}"
    return _binary(spec, bool(hits) != _negated(spec), evidence)


def grade_matches(spec: FileMatches, context: GradingContext) -> Verdict:
    root = _workspace(context)
    found = _matches(spec, root)
    if isinstance(found, Verdict):
        return found
    if not found:
        return _binary(spec, _negated(spec), f"No files matching '{spec.path}' found")
    pattern = js_regex(spec.pattern)
    hits, skipped = [], []
    for name in found:
        try:
            text = read_text(root / name)
        except OSError as exc:  # a folder the glob matched, an unreadable file: noted, skipped
            skipped.append(f"{name} ({exc.strerror or type(exc).__name__})")
            continue
        if pattern.search(text):
            hits.append(name)
    if hits:
        evidence = f"Pattern /{spec.pattern}/ matches {shown(hits)}"
    else:
        evidence = f"Pattern /{spec.pattern}/ does not match any file matching '{spec.path}'"
    if skipped:
        evidence += f"; skipped unreadable: {shown(skipped)}"
    return _binary(spec, bool(hits) != _negated(spec), evidence)


def grade_diff(spec: DiffContains | DiffEmpty, context: GradingContext) -> Verdict:
    root = _workspace(context)
    baseline = context.meta.get(BASELINE_KEY)
    if not isinstance(baseline, str) or not Path(baseline).is_dir():
        raise GraderError("no snapshot of the workspace as set up, so there is no diff to read")
    selected = None
    if spec.path is not None:
        selected = set(glob_workspace(root, spec.path)) | set(
            glob_workspace(Path(baseline), spec.path)
        )
    diff, changed = workspace_diff(Path(baseline), root, selected)
    if isinstance(spec, DiffEmpty):
        evidence = "Workspace unchanged" if not changed else f"Changed: {shown(changed)}"
        return _binary(spec, (not changed) != _negated(spec), evidence, observed=changed[:50])
    found = spec.substring in diff
    evidence = f"'{spec.substring}' {'found' if found else 'NOT found'} in diff"
    evidence += f" ({len(changed)} file(s) changed)"
    return _binary(spec, found != _negated(spec), evidence)


def workspace_diff(before: Path, after: Path, selected: set[str] | None) -> tuple[str, list[str]]:
    """A unified diff of the files that differ between two trees, and their names."""
    old, new = _files(before), _files(after)
    names = sorted(name for name in old.keys() | new.keys() if selected is None or name in selected)
    chunks, changed = [], []
    for name in names:
        a, b = _bytes(old.get(name)), _bytes(new.get(name))
        if a == b:
            continue
        changed.append(name)
        lines = difflib.unified_diff(
            _lines(a),
            _lines(b),
            fromfile=f"a/{name}" if a is not None else "/dev/null",
            tofile=f"b/{name}" if b is not None else "/dev/null",
        )
        chunks.append("".join(lines))
    return "".join(chunks), changed


def _files(root: Path) -> dict[str, Path]:
    found = {}
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if relative.parts and relative.parts[0] in SKIPPED_DIRS:
            continue
        if path.is_file() and not path.is_symlink():
            found[relative.as_posix()] = path
    return found


def _bytes(path: Path | None) -> bytes | None:
    if path is None:
        return None
    with path.open("rb") as handle:
        return handle.read(MAX_DIFF_FILE_BYTES)


def _lines(data: bytes | None) -> list[str]:
    if data is None:
        return []
    return data.decode("utf-8", errors="replace").splitlines(keepends=True)


def prepare_file(spec: Any, where: Preparation) -> Any:
    path = getattr(spec, "path", None)
    if path is not None:
        try:
            check_relative(path)
        except PathEscapeError as exc:
            where.error(str(exc), "path")
    pattern = getattr(spec, "pattern", None)
    if pattern is not None and (problem := regex_problem(pattern)) is not None:
        where.error(problem, "pattern")
    for name in ("value", "substring"):
        if getattr(spec, name, None) == "":
            where.error("must not be empty: it is found in any text", name)
    return spec
