"""The loader's grading steps: documents flattened (Vally's `config:`), grader specs prepared
and checked, and each case's threshold and workspace resolved over the suite's."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import msgspec

from harness.config.containment import Project
from harness.config.schema import CaseFile, GraderSpec, Suite, SuiteFile, WorkspaceSpec
from harness.config.workspace import merge, resolve_files
from harness.config.yaml_source import Document, Problems
from harness.grading.catalogue import (
    file_kinds,
    grader_of,
    specs_forbid_unknown_fields,
    type_names,
)
from harness.grading.prepare import check_threshold, flatten_config, prepare_specs

F = TypeVar("F", SuiteFile, CaseFile)

__all__ = [
    "attach_case_settings",
    "file_kinds",
    "flatten_config",
    "prepare_file",
    "specs_forbid_unknown_fields",
    "type_names",
]


def prepare_file(
    document: Document,
    spec: F,
    *,
    base_dir: Path,
    project: Project,
    problems: Problems,
    tool_registry: frozenset[str] | None,
    allow_ineffective: bool,
) -> F:
    """The suite or case file with its graders prepared; problems recorded at their lines."""
    check_threshold(document, spec.threshold, "$.threshold", problems)
    if not spec.assertions:
        return spec
    prepared = prepare_specs(
        document,
        spec.assertions,
        base_dir=base_dir,
        project=project,
        problems=problems,
        tool_registry=tool_registry,
        allow_ineffective=allow_ineffective,
    )
    return msgspec.structs.replace(spec, assertions=prepared)


def attach_case_settings(
    suite: Suite,
    suite_file: SuiteFile,
    suite_document: Document,
    cases: Sequence[tuple[Document, CaseFile]],
    problems: Problems,
) -> Suite:
    """Each resolved case gets its threshold (its own, else the suite's) and its workspace
    (the case's over the suite's, sources made absolute)."""
    suite_workspace = _resolved(suite_file, suite_document, suite, problems)
    by_id = {case.id: (document, case) for document, case in cases}
    resolved = []
    for case in suite.cases:
        document, case_file = by_id[case.id]
        threshold = case_file.threshold if case_file.threshold is not None else suite_file.threshold
        own = _resolved(case_file, document, suite, problems)
        workspace = merge(suite_workspace, own)
        if workspace is None:
            # The case's assertions are the suite's, then its own (harness.config.runledger).
            suite_count = len(suite_file.assertions or ())
            places = [(suite_document, i, True) for i in range(suite_count)]
            places += [(document, i, False) for i in range(len(case.assertions) - suite_count)]
            _check_no_workspace_graders(case.id, case.assertions, places, problems)
        resolved.append(msgspec.structs.replace(case, threshold=threshold, workspace=workspace))
    return msgspec.structs.replace(suite, cases=tuple(resolved))


def _check_no_workspace_graders(
    case_id: str,
    specs: Sequence[GraderSpec],
    places: Sequence[tuple[Document, int, bool]],
    problems: Problems,
) -> None:
    """A case without a workspace runs its agent in the invoker's cwd: a grader of the
    workspace would find nothing to grade there, and the agent writes where it should not."""
    for spec, (document, index, from_suite) in zip(specs, places, strict=True):
        grader = grader_of(spec)
        if grader.family != "workspace":
            continue
        whose = f"case {case_id!r}" + (" (it takes the suite's assertions)" if from_suite else "")
        message = (
            f"{grader.name} grades the attempt's workspace, but {whose} has no `workspace:`; "
            "give the case or the suite one (e.g. `workspace: {files: [fixtures]}`)"
        )
        problems.add(document.error(message, f"$.assertions[{index}]"))


def _resolved(
    spec: SuiteFile | CaseFile, document: Document, suite: Suite, problems: Problems
) -> WorkspaceSpec | None:
    if spec.workspace is None:
        return None
    workspace, found = resolve_files(spec.workspace, suite.dir, suite.project)
    for problem in found:
        field, message = problem.split(": ", 1)
        problems.add(document.error(message, f"$.workspace.{field}"))
    return workspace
