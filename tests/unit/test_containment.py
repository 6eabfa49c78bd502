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
from harness.grading.registry import every_type
from harness.grading.vally.catalogue import ensure_registered as ensure_vally_registered
from harness.vally.spec import EvalSpecFile, ExperimentFile, HarnessFile, ProjectFile
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
# be forgotten. Keys are `module.Struct.field` (module without `harness.`).
CONTAINED = {
    "config.schema.CaseFile.cassette": "runledger._Resolver.contained; again after {model} "
    "(plan.build.with_model) and where it is opened (cassette.format.contained)",
    "config.schema.SuiteFile.cases_path": "runledger._case_files: the folder and each case file",
    "config.schema.SuiteFile.baseline_path": "runledger._Resolver.contained; execute.prepare",
    "config.schema.JsonSchemaAssertion.schema_path": "runledger._Resolver.contained",
    "grading.output.JsonMatch.schema_path": "Preparation.load_schema",
    "grading.output.JsonMatch.schema_file": "Preparation.load_schema",
    "grading.calls.TraceToolArgsSchema.schema_file": "Preparation.load_schema",
    "grading.assay.schema.AssayJsonSchema.schema_file": "becomes JsonMatch.schema_file",
    "grading.assay.metrics.ArgsValid.policy": "grading.assay.graders._policy_file",
    "grading.assay.metrics.SequenceValid.policy": "grading.assay.graders._policy_file",
    "config.schema.WorkspaceFile.src": "config.workspace.resolve_files; "
    "again in attempt.workspace._copy_files",
    "vally.spec.FileEntry.src": "vally.environments._files (Where.outside)",
    "vally.spec.EnvironmentSpec.skills": "vally.environments._skills (Where.outside)",
    "vally.spec.GitSpec.source": "vally.environments._git (Where.outside)",
    "vally.spec.Paths.evals": "vally.project.discover (_check_inside)",
    "vally.spec.Suite.evals": "vally.project.suite_files (_check_inside)",
    "vally.spec.ExperimentFile.evals": "vally.experiment._eval_files",
}
_WORKSPACE = "workspace-relative: config.paths.inside at the point of use"
_VALLY_GLOB = "a glob matched inside the attempt's workspace only"
EXEMPT = {
    "config.schema.WorkspaceFile.dest": _WORKSPACE,
    "grading.files.FileExists.path": _WORKSPACE,
    "grading.files.FileNotExists.path": _WORKSPACE,
    "grading.files.FileContains.path": _WORKSPACE,
    "grading.files.FileNotContains.path": _WORKSPACE,
    "grading.files.FileMatches.path": _WORKSPACE,
    "grading.files.FileNotMatches.path": _WORKSPACE,
    "grading.commands.RunCommand.sub_path": _WORKSPACE,
    "grading.vally.files.FileExists.path": _VALLY_GLOB,
    "grading.vally.files.FileContains.path": _VALLY_GLOB,
    "grading.vally.files.FileMatches.path": _VALLY_GLOB,
    "grading.vally.files.DiffContains.path": _VALLY_GLOB,
    "grading.vally.files.DiffEmpty.path": _VALLY_GLOB,
    "grading.vally.files.DiffNotContains.path": _VALLY_GLOB,
    "grading.vally.files.FileNotContains.path": _VALLY_GLOB,
    "grading.vally.files.FileNotExists.path": _VALLY_GLOB,
    "grading.vally.files.FileNotMatches.path": _VALLY_GLOB,
    "grading.vally.program.Program.sub_path": _WORKSPACE,
    "grading.vally.program.VallyRunCommand.sub_path": _WORKSPACE,
    "grading.vally.steps.ToolMatch.path": "a regex over a tool call's `path` argument, no file",
    # Nothing is read or replaced there.
    "config.schema.SuiteFile.output_dir": "harness only makes a new run folder under it",
    "config.schema.SuiteFile.agent_cwd": "where the agent (run as the user) starts",
    "config.schema.CommandToolSpec.cwd": "where a trusted tool command starts",
    "config.schema.McpServerSpec.cwd": "where a trusted MCP server starts",
    "config.schema.SuiteFile.tool_module": "a module name, imported as trusted suite code",
    "grading.assay.schema.Ref.path": "refused at load: an unresolved $ref cannot run",
    "vally.spec.FileEntry.dest": _WORKSPACE,
    "vally.spec.ExecutorSpec.cwd": "where a trusted executor command starts",
    "vally.spec.McpServerSpec.cwd": "where a trusted MCP server starts",
    "vally.spec.Paths.results": "harness only makes new result folders under it",
    "vally.spec.Paths.evalFilenames": "file name patterns matched under paths.evals",
    "vally.spec.Paths.skills": "read from .vally.yaml for Vally's sake; harness never opens it",
    # Not paths at all: JSON paths and pointers, regexes.
    "vally.spec.Axis.path": "a JSON pointer into the resolved config",
    "config.schema.Normalization.strip_paths": "JSON paths into the output",
    "config.model_proxy.ModelMatch.ignore_paths": "JSON paths into a model request",
    "grading.vally.steps.ToolMatch.result": "a regex over a tool call's result",
}
VALLY_FILES = (EvalSpecFile, ProjectFile, HarnessFile, ExperimentFile)
_PATHLIKE = re.compile(
    r"path|file|dir|src|dest|cwd|cassette|policy|module|glob|source|skill|result|eval",
    re.IGNORECASE,
)


def _key(cls: type[msgspec.Struct]) -> str:
    return f"{cls.__module__.removeprefix('harness.')}.{cls.__name__}"


def _config_structs() -> dict[str, type[msgspec.Struct]]:
    """Every Struct a suite, case, Assay config or Vally eval spec can hold: every registered
    grader type's spec included."""
    ensure_vally_registered()
    suite_kind, case_kind = file_kinds()
    roots = [
        suite_kind,
        case_kind,
        AssayFile,
        *VALLY_FILES,
        *(grader.spec for grader in every_type()),
    ]
    found: dict[str, type[msgspec.Struct]] = {}
    pending: list[mi.Type] = [mi.type_info(kind) for kind in roots]
    while pending:
        info = pending.pop()
        if isinstance(info, mi.StructType):
            if _key(info.cls) in found and info.cls not in (suite_kind, case_kind):
                continue
            found[_key(info.cls)] = info.cls
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
        # A string, or a list of them (`skills: [a, b]`).
        items = [kind.item_type if isinstance(kind, mi.ListType) else kind for kind in kinds]
        if any(isinstance(kind, mi.StrType) for kind in items):
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


@given(
    st.lists(st.sampled_from(["a", "b", "ab", "a.b", "..", ".", ""]), max_size=5),
    st.sampled_from(["/p", "/p/q", "/pq", "/"]),
)
def test_holds_says_what_is_relative_to_says_of_resolved_paths(parts: list[str], root: str) -> None:
    """The string test agrees with Path.is_relative_to on every normalised path, including
    the siblings that share the root's name as a prefix (/pq beside /p)."""
    real = os.path.normpath("/" + "/".join(["p", *parts]))
    project = Project(Path(root))
    assert project.holds(real) == Path(real).is_relative_to(Path(root))
