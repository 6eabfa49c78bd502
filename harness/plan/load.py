"""Load a suite: read its layout, convert each YAML document to its schema struct (a msgspec
`$.path` error becomes file:line), check the values msgspec cannot, then resolve a `Suite`.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import msgspec

from harness.config import runledger
from harness.config.commands import unbraced
from harness.config.schema import (
    CaseFile,
    RecordMode,
    Regression,
    Suite,
    SuiteFile,
    parse_mode,
)
from harness.config.yaml_source import (
    Document,
    Problems,
    config_error,
    display_path,
    read_yaml,
)
from harness.grading import loading as grading
from harness.plan.checks import check_case, check_suite
from harness.plan.convert import convert
from harness.storage.runs import safe_name


def load_suite(
    path: str | Path,
    *,
    mode: str | None = None,
    allow_ineffective: bool = False,
    project_root: Path | None = None,
) -> Suite:
    """Load, check and resolve a suite, reporting every problem found in one error.

    Args:
        path: the suite folder, or its `suite.yaml` (or `suite.yml`) file.
        mode: overrides the suite's `mode`, as the CLI's `--mode` does.
        allow_ineffective: run assertions that can never fail instead of refusing them.
        project_root: where every file the suite names must be (default: its git work tree,
            else its folder; see harness.config.containment).

    Returns:
        The resolved suite: paths absolute, case settings merged over the suite's.

    Raises:
        ConfigError: the one problem found; `ConfigErrors` when there are several.
    """
    problems = Problems()
    suite_file = runledger.find_suite_file(Path(path))
    layout = runledger.read_layout(suite_file, problems, project_root)
    shown = [display_path(case_file) for case_file in layout.case_files]
    problems.file_order = [layout.suite.shown, *shown]
    suite_kind, case_kind = grading.file_kinds()
    suite_document = _unbraced_placeholders(grading.flatten_config(layout.suite))
    strict = grading.specs_forbid_unknown_fields()
    suite = convert(suite_document, suite_kind, problems, strict_kind=strict)
    registry = None if suite is None else frozenset(suite.tool_registry)
    prepare = functools.partial(
        grading.prepare_file,
        base_dir=layout.dir,
        project=layout.project,
        problems=problems,
        tool_registry=registry,
        allow_ineffective=allow_ineffective,
    )
    if suite is not None:
        check_suite(layout.suite, suite, problems)
        suite = prepare(suite_document, suite)
    documents = [
        document
        for case_file, case_shown in zip(layout.case_files, shown, strict=True)
        if (document := problems.attempt(functools.partial(read_yaml, case_file, case_shown)))
        is not None
    ]
    cases: list[tuple[Document, CaseFile]] = []
    for document in map(grading.flatten_config, documents):
        if (case := convert(document, case_kind, problems, strict_kind=strict)) is not None:
            check_case(document, case, problems)
            cases.append((document, prepare(document, case)))
    _check_unique_ids(documents, problems)
    if suite is not None:
        _check_case_refs(layout.suite, suite, {case.id for _, case in cases}, problems)
    record_mode = _record_mode(layout.suite, suite, mode, problems)
    if suite is None:
        problems.check()  # raises: why the suite is None was recorded
        raise AssertionError("unreachable")
    # A bad mode is recorded already; resolving anyway finds the other problems too.
    mode_or_default = record_mode or RecordMode.replay
    resolved = runledger.resolve(layout, suite, cases, mode_or_default, problems)
    resolved = grading.attach_case_settings(resolved, suite, layout.suite, cases, problems)
    problems.check()
    return resolved


def _unbraced_placeholders(document: Document) -> Document:
    """The suite with every command's `{python: null}` (or `{model: null}`) element read as the
    placeholder YAML's flow syntax turned into a mapping: agent_command, and each command tool's
    and MCP server's `command`."""
    value = document.value
    if not isinstance(value, dict):
        return document
    changed = dict(value)
    if "agent_command" in value:
        changed["agent_command"] = unbraced(value["agent_command"])
    for key in ("tools", "mcp_servers"):
        if isinstance(entries := value.get(key), dict):
            changed[key] = {name: _command_unbraced(entry) for name, entry in entries.items()}
    return document if changed == value else msgspec.structs.replace(document, value=changed)


def _command_unbraced(entry: Any) -> Any:
    if isinstance(entry, dict) and "command" in entry:
        return {**entry, "command": unbraced(entry["command"])}
    return entry


def _check_unique_ids(documents: list[Document], problems: Problems) -> None:
    # On the raw values, so a case that fails to convert still claims its id.
    first: dict[str, Document] = {}
    folders: dict[str, tuple[str, Document]] = {}
    for document in documents:
        case_id = document.value.get("id") if isinstance(document.value, dict) else None
        if not isinstance(case_id, str):
            continue
        if (other := first.setdefault(case_id, document)) is not document:
            where = f"{other.shown}:{other.line_of('$.id')}"
            message = f"duplicate case id {case_id!r}, also used in {where}; ids must be unique"
            problems.add(document.error(message, "$.id"))
            continue
        # safe_name hashes every id it changes: two ids share a folder only if made to.
        other_id, other = folders.setdefault(safe_name(case_id), (case_id, document))
        if other is not document:
            where = f"{other.shown}:{other.line_of('$.id')}"
            message = (
                f"case id {case_id!r} would share its run folder with {other_id!r} "
                f"({where}); rename one"
            )
            problems.add(document.error(message, "$.id"))


def _check_case_refs(
    document: Document, suite: SuiteFile, known: set[str], problems: Problems
) -> None:
    """Case ids named by the gate settings must exist: a typo would silently gate nothing."""
    regression = suite.regression or Regression()
    named = [(f"$.quarantine[{i}]", case_id) for i, case_id in enumerate(suite.quarantine)]
    named += [
        (f"$.regression.expected_failures[{i}]", case_id)
        for i, case_id in enumerate(regression.expected_failures)
    ]
    named += [(f"$.regression.case_pass_rates.{key}", key) for key in regression.case_pass_rates]
    for path, case_id in named:
        if case_id not in known:
            message = f"unknown case id {case_id!r}; known: {', '.join(sorted(known)) or 'none'}"
            problems.add(document.error(message, path))


def _record_mode(
    document: Document, suite: SuiteFile | None, override: str | None, problems: Problems
) -> RecordMode | None:
    declared = None
    if suite is not None:
        try:
            declared = parse_mode(suite.mode)
        except ValueError as exc:
            problems.add(document.error(str(exc), "$.mode"))
    if override is None:
        return declared
    try:
        return parse_mode(override)
    except ValueError as exc:
        problems.add(config_error(None, f"{exc} (from --mode)", field="mode"))
        return None
