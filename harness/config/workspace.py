"""A workspace spec as the loader settles it: the case's over the suite's, sources made
absolute, destinations and the setup timeout checked."""

from __future__ import annotations

import os
from pathlib import Path

from harness.config.containment import Project
from harness.config.paths import PathEscapeError, check_relative, parse_duration
from harness.config.schema import WorkspaceFile, WorkspaceSpec


def merge(suite: WorkspaceSpec | None, case: WorkspaceSpec | None) -> WorkspaceSpec | None:
    """The case's workspace over the suite's: files and commands concatenate, suite first."""
    if suite is None or case is None:
        return case if suite is None else suite
    return WorkspaceSpec(
        files=[*suite.files, *case.files],
        commands=[*suite.commands, *case.commands],
        command_timeout=case.command_timeout or suite.command_timeout,
    )


def resolve_files(
    spec: WorkspaceSpec, base_dir: Path, project: Project
) -> tuple[WorkspaceSpec, list[str]]:
    """Sources made absolute (relative to the config folder) and checked to be inside the
    project, destinations defaulted to the source's name; the problems found, each as
    `field: message`."""
    problems = []
    files: list[WorkspaceFile | str] = []
    for i, entry in enumerate(spec.files):
        item = WorkspaceFile(src=entry) if isinstance(entry, str) else entry
        source = Path(os.path.abspath(base_dir / item.src))
        dest = item.dest if item.dest is not None else source.name
        if not source.exists():
            problems.append(f"files[{i}].src: {item.src!r} not found (relative to the config)")
        elif project.outside(source):
            problems.append(f"files[{i}].src: {project.escape_message('file', source)}")
        try:
            check_relative(dest)
        except PathEscapeError as exc:
            problems.append(f"files[{i}].dest: {exc}")
        files.append(WorkspaceFile(src=str(source), dest=dest))
    if spec.command_timeout is not None:
        try:
            parse_duration(spec.command_timeout)
        except ValueError as exc:
            problems.append(f"command_timeout: {exc}")
    return WorkspaceSpec(files, spec.commands, spec.command_timeout), problems
