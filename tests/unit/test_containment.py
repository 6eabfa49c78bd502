"""Containment at load time (harness.config.containment): resolving each folder once and
lstat-ing each file gives exactly the answers of resolving every path in full, whatever
symlinks lie on the way."""

from __future__ import annotations

import os
import re
from pathlib import Path

import msgspec
import msgspec.inspect as mi
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from harness.config.containment import Containment, PathOutsideProject, Project
from harness.grading.assay.schema import AssayFile
from harness.grading.catalogue import file_kinds
from tests.support.trees import SYMLINK_NAMES, symlink_tree


def test_containment_answers_as_resolving_in_full(tmp_path: Path) -> None:
    project, elsewhere = symlink_tree(tmp_path)
    root = Project(Path(os.path.realpath(project)))
    containment = Containment(root)  # one instance throughout, as a load uses it

    @settings(max_examples=600, deadline=None)
    @given(
        st.sampled_from([project, elsewhere, project / "sub"]),
        st.lists(st.sampled_from(SYMLINK_NAMES), min_size=1, max_size=5),
        st.booleans(),
    )
    @example(project, ["file", "..", "link_out"], False)  # the kernel cannot lstat it
    @example(project, ["missing", "..", "link_out"], False)
    def check(start: Path, parts: list[str], absolute: bool) -> None:
        path = start.joinpath(*parts)
        if absolute:  # the loader's form: os.path.abspath, so no `..` is left in it
            path = Path(os.path.abspath(path))
        assert containment.outside(path) == root.outside(path), path

    check()


# Every field of a config file that names a file or folder, and how it is kept in the project.
# A field whose name says "path" and is in neither table fails the test below: a new one cannot
# be forgotten. Field names are `Struct.field`.
CONTAINED = {
    "CaseFile.cassette": "runledger._Resolver.contained; again after {model} (plan.build."
    "with_model) and where it is opened (cassette.format.contained)",
    "SuiteFile.cases_path": "runledger._case_files: case files are read only from inside it",
    "SuiteFile.baseline_path": "runledger._Resolver.contained; again in execute.prepare",
    "JsonSchemaAssertion.schema_path": "runledger._Resolver.contained",
    "JsonMatch.schema_path": "Preparation.load_schema",
    "JsonMatch.schema_file": "Preparation.load_schema",
    "TraceToolArgsSchema.schema_file": "Preparation.load_schema",
    "AssayJsonSchema.schema_file": "becomes JsonMatch.schema_file",
    "ArgsValid.policy": "grading.assay.graders._policy_file (Preparation.contained)",
    "SequenceValid.policy": "grading.assay.graders._policy_file (Preparation.contained)",
    "WorkspaceFile.src": "config.workspace.resolve_files; again in attempt.workspace._copy_files",
}
EXEMPT = {
    # Inside the attempt's workspace, by harness.config.paths.inside at the point of use.
    "WorkspaceFile.dest": "workspace-relative (config.paths.check_relative, paths.inside)",
    "FileExists.path": "workspace-relative (config.paths.inside)",
    "FileNotExists.path": "workspace-relative (config.paths.inside)",
    "FileContains.path": "workspace-relative (config.paths.inside)",
    "FileNotContains.path": "workspace-relative (config.paths.inside)",
    "FileMatches.path": "workspace-relative (config.paths.inside)",
    "FileNotMatches.path": "workspace-relative (config.paths.inside)",
    "RunCommand.sub_path": "workspace-relative (config.paths.inside)",
    # Nothing is read or replaced there.
    "SuiteFile.output_dir": "harness only makes a new run folder under it, as --output-dir",
    "SuiteFile.agent_cwd": "where the agent (trusted to run as the user) starts",
    "CommandToolSpec.cwd": "where a trusted tool command starts",
    "McpServerSpec.cwd": "where a trusted MCP server starts",
    "SuiteFile.tool_module": "a Python module name, imported like any trusted suite code",
    "Ref.path": "refused at load: an unresolved $ref cannot run",
}
_PATHLIKE = re.compile(r"path|file|dir|src|dest|cwd|cassette|policy|module", re.IGNORECASE)


def _config_structs() -> dict[str, type[msgspec.Struct]]:
    """Every Struct a suite, case or Assay config can hold, grader specs included."""
    suite_kind, case_kind = file_kinds()
    found: dict[str, type[msgspec.Struct]] = {}
    pending: list[mi.Type] = [mi.type_info(kind) for kind in (suite_kind, case_kind, AssayFile)]
    while pending:
        info = pending.pop()
        if isinstance(info, mi.StructType):
            if found.setdefault(info.cls.__name__, info.cls) is not info.cls and info.cls not in (
                suite_kind,
                case_kind,
            ):
                continue
            pending.extend(field.type for field in info.fields)
        elif isinstance(info, mi.UnionType):
            pending.extend(info.types)
        elif isinstance(info, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
            pending.append(info.item_type)
        elif isinstance(info, mi.DictType):
            pending.append(info.value_type)
    return found


def _string_fields(cls: type[msgspec.Struct]) -> list[str]:
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    names = []
    for field in info.fields:
        kinds = field.type.types if isinstance(field.type, mi.UnionType) else (field.type,)
        if any(isinstance(kind, mi.StrType) for kind in kinds):
            names.append(field.name)
    return names


def test_every_path_field_of_the_config_schema_is_contained_or_exempt() -> None:
    structs = _config_structs()
    pathlike = {
        f"{name}.{field}"
        for name, cls in structs.items()
        for field in _string_fields(cls)
        if _PATHLIKE.search(field)
    }
    unclassified = pathlike - CONTAINED.keys() - EXEMPT.keys()
    assert not unclassified, (
        f"config fields that may name a file: {sorted(unclassified)}; route each through "
        "harness.config.containment (Project.contain) and list it in CONTAINED, or say in "
        "EXEMPT why it needs no containment"
    )
    stale = (CONTAINED.keys() | EXEMPT.keys()) - {
        f"{name}.{field}" for name, cls in structs.items() for field in cls.__struct_fields__
    }
    assert not stale, f"no such config field (renamed?): {sorted(stale)}"


def test_the_project_is_the_git_work_tree_or_the_suite_folder_never_the_root(
    tmp_path: Path,
) -> None:
    plain = tmp_path / "plain" / "suite"
    plain.mkdir(parents=True)
    assert Project.of_suite(plain).root == Path(os.path.realpath(plain))
    repo = tmp_path / "repo"
    (repo / "suites" / "a").mkdir(parents=True)
    (repo / ".git").mkdir()
    assert Project.of_suite(repo / "suites" / "a").root == Path(os.path.realpath(repo))
    assert Project.of_suite(Path("/")).root == Path("/")  # the suite folder itself, at worst
    project = Project.of_suite(repo / "suites" / "a")
    assert project.contain(repo / "cassettes" / "x.jsonl", "cassette")
    with pytest.raises(PathOutsideProject, match=r"cassette .* is outside the suite's project"):
        project.contain(repo / ".." / "x.jsonl", "cassette")


def test_a_named_project_root_must_hold_the_suite_and_not_be_the_filesystem_root(
    tmp_path: Path,
) -> None:
    suite = tmp_path / "checkout" / "suites" / "a"
    suite.mkdir(parents=True)
    named = Project.at(tmp_path / "checkout", suite)  # a checkout without its .git
    assert named.root == Path(os.path.realpath(tmp_path / "checkout"))
    with pytest.raises(PathOutsideProject, match="filesystem root"):
        Project.at(Path("/"), suite)
    with pytest.raises(PathOutsideProject, match="is outside the project root"):
        Project.at(tmp_path / "elsewhere", suite)
